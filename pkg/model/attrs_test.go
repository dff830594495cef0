package model

import (
	"encoding/json"
	"testing"
)

func TestResultJSONWithoutAttrsIsUnchanged(t *testing.T) {
	t.Parallel()
	r := Result{Status: StatusFound, Malicious: Int(3), Tags: []string{"<c2> & co"}, Matches: []FeedMatch{{Feed: "a.txt", Info: "x<y"}}}
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// What encoding/json wrote before Result had a MarshalJSON (json.Marshal
	// escapes HTML characters; the report encoder turns that off, and the
	// method must not turn it back on).
	want, _ := json.Marshal((*resultFields)(&r))
	if string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	raw, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if wantRaw := `{"status":"found","malicious":3,"tags":["<c2> & co"],"matches":[{"feed":"a.txt","info":"x<y"}]}`; string(raw) != wantRaw {
		t.Errorf("MarshalJSON escapes HTML or changed layout:\n got  %s\n want %s", raw, wantRaw)
	}
}

func TestResultAttrsRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Result
		want string
	}{
		{name: "happy path: attrs flattened and sorted", in: Result{Status: StatusFound, Link: "https://x/", Attrs: map[string]any{
			"score": 87, "noise": true, "label": "<bad>", "ports": []int{22, 443}, "ratio": 0.5,
		}}, want: `{"status":"found","link":"https://x/","label":"<bad>","noise":true,"ports":[22,443],"ratio":0.5,"score":87}`},
		{name: "sad path: an attr named like a common field is dropped", in: Result{Status: StatusFound, Malicious: Int(1), Attrs: map[string]any{
			"malicious": 99, "status": "hacked", "extra": "x",
		}}, want: `{"status":"found","malicious":1,"extra":"x"}`},
		{name: "happy path: big integers keep every digit", in: Result{Status: StatusFound, Attrs: map[string]any{"id": json.Number("12345678901234567890")}},
			want: `{"status":"found","id":12345678901234567890}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			// json.Marshal escapes < and >; compare through the raw method.
			raw, _ := tt.in.MarshalJSON()
			if string(raw) != tt.want {
				t.Fatalf("encoded\n got  %s\n want %s", raw, tt.want)
			}
			var back Result
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			again, _ := back.MarshalJSON()
			if string(again) != tt.want {
				t.Errorf("round trip changed the JSON:\n got  %s\n want %s", again, tt.want)
			}
		})
	}
}

func TestNumberFallsBackToAttrs(t *testing.T) {
	t.Parallel()
	var r Result
	if err := json.Unmarshal([]byte(`{"status":"found","abuse_confidence_score":40,"fake_score":87.5,"benign":true,"name":"x"}`), &r); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		field string
		want  float64
		ok    bool
	}{{"abuse_confidence_score", 40, true}, {"fake_score", 87.5, true}, {"benign", 1, true}, {"name", 0, false}, {"missing", 0, false}, {"malicious", 0, false}} {
		got, ok := r.Number(tt.field)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Number(%q) = %v, %v; want %v, %v", tt.field, got, ok, tt.want, tt.ok)
		}
	}
	direct := Result{Attrs: map[string]any{"n": 3, "b": false}}
	if v, ok := direct.Number("n"); !ok || v != 3 {
		t.Errorf("int attr: %v %v", v, ok)
	}
	if v, ok := direct.Number("b"); !ok || v != 0 {
		t.Errorf("bool attr: %v %v", v, ok)
	}
}

func TestResultUnmarshalRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[1]`, `{"status":`, `{"status":"found","x":}`, `"str"`} {
		var r Result
		if err := json.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func FuzzResultJSON(f *testing.F) {
	f.Add(`{"status":"found","malicious":2,"x":1}`)
	f.Add(`{"status":"not_found"}`)
	f.Add(`{"status":"found","attrs":{"a":[1,"b",null]},"tags":["<"]}`)
	f.Fuzz(func(t *testing.T, in string) {
		var r Result
		if json.Unmarshal([]byte(in), &r) != nil {
			return
		}
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back Result
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode own output %s: %v", b, err)
		}
		b2, err := back.MarshalJSON()
		if err != nil || string(b2) != string(b) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}

func TestAttrsNeverShadowCommonFieldsWhateverTheCase(t *testing.T) {
	t.Parallel()
	var r Result
	if err := json.Unmarshal([]byte(`{"Status":"found","MALICIOUS":4,"x":1}`), &r); err != nil {
		t.Fatal(err)
	}
	raw, _ := r.MarshalJSON()
	if want := `{"status":"found","malicious":4,"x":1}`; string(raw) != want {
		t.Errorf("got %s, want %s", raw, want)
	}
}

func TestAttrWords(t *testing.T) {
	t.Parallel()
	got := AttrWords(map[string]any{"fake_score": 87, "ports": []any{json.Number("22"), json.Number("443")}, "label": "scanner", "empty": nil, "malicious": 3, "geo": map[string]any{"cc": "NL", "asn": 1}})
	want := []string{"fake score 87", "geo asn=1 cc=NL", "label scanner", "ports 22, 443"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
			break
		}
	}
	if AttrWords(nil) != nil {
		t.Error("no attrs, no words")
	}
}
