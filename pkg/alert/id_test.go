package alert

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewIDFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fields    []string
		wantNames []string
		wantHit   int
		wantErr   string
	}{
		{name: "happy path: the default list", fields: DefaultIDFields,
			wantNames: []string{"alert.id", "id", "event.id", ".id", "systemalertid"}, wantHit: 3},
		{name: "happy path: names are normalised", fields: []string{"Ticket-No", " incident_ID "},
			wantNames: []string{"ticket.no", "incident.id"}, wantHit: -1},
		{name: "happy path: a repeat keeps its first place", fields: []string{"id", "_id", "ID"},
			wantNames: []string{"id", ".id"}, wantHit: 1},
		{name: "happy path: empty list", fields: []string{}, wantNames: nil, wantHit: -1},
		{name: "sad path: an empty name", fields: []string{"id", " "}, wantErr: "id field 2 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := NewIDFields(tt.fields)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantNames, f.Names())
			hr, ok := f.HitRank()
			assert.Equal(t, tt.wantHit, hr)
			assert.Equal(t, tt.wantHit >= 0, ok)
		})
	}
}

func TestIDFieldsID(t *testing.T) {
	t.Parallel()
	custom, err := NewIDFields([]string{"ticket.no", "event.id"})
	require.NoError(t, err)
	none, err := NewIDFields(nil)
	require.NoError(t, err)
	tests := []struct {
		name   string
		fields *IDFields
		raw    string
		hitID  string
		want   string
	}{
		{name: "custom: first listed wins", fields: custom, raw: `{"event":{"id":"e"},"TICKET_NO":"t"}`, want: "t"},
		{name: "custom: fields off the list are not ids", fields: custom, raw: `{"id":"i","alert_id":"a"}`, want: ""},
		{name: "custom: nested form", fields: custom, raw: `{"ticket":{"no":42}}`, want: "42"},
		{name: "custom: blank values do not count", fields: custom, raw: `{"ticket.no":"  ","event.id":"e"}`, want: "e"},
		{name: "custom: a hit id counts only when _id is listed", fields: custom, raw: `{"a":1}`, hitID: "h", want: ""},
		{name: "none: every alert is named by position", fields: none, raw: `{"id":"i"}`, hitID: "h", want: ""},
		{name: "nil is the default list", fields: nil, raw: `{"SystemAlertId":"s","id":"i"}`, want: "i"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.fields.ID(Record{Raw: []byte(tt.raw), HitID: tt.hitID}))
		})
	}
}
