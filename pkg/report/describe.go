package report

import "github.com/verdict-dev/verdict/pkg/model"

// DescribeResult is one provider's answer in words, as every human report
// shows it: the status, and the facts (or the skip reason, or the error),
// with every indicator defanged and the text safe to print on one line of
// a terminal. Commands that print answers (verdict lookup) use it so that
// they read as the reports do.
func DescribeResult(provider string, r *model.Result) ResultView {
	rv := resultView(provider, r)
	rv.Detail = SanitizeLine(rv.Detail)
	return rv
}
