// Package keystore manages the local private keys of docker content trust,
// stored where Docker kept them (<DOCKER_CONFIG>/trust/private), and the
// retrieval of their passphrases from the environment, a terminal or stdin.
//
// It never imports the plugin or the docker CLI command packages: the plugin
// reads the environment once and hands the values in.
package keystore
