// Package trusttest has fakes of trust.Repository for tests, in the spirit
// of docker/cli's internal/test/notary: small fakes of notary's repository,
// each for one situation, shared by every test package.
//
// It is imported only from _test.go files (deps_test.go checks that no
// other package reaches it). It does not import trust, so that trust's own
// tests can use it too.
package trusttest
