// Package newprovider holds the acceptance test of the provider registry
// (issue 13): a third provider, pkg/intel/inteltest/fakeintel, joins verdict
// through one blank import in newprovider_test.go and reaches the
// configuration, the lookups, the scoring rules and every report with no
// other edit. It lives in its own package so that the provider is linked
// into this test binary only, and pkg/cmd/root's golden reports keep the
// two built-in providers.
package newprovider
