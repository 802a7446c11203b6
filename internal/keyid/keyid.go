// Package keyid shortens key IDs the way notary's passphrase prompts show
// them ("Enter passphrase for root key with ID 4c6c56a"), so that every
// message names a key as the prompt did. It is shared by keystore and
// plugin; trust and keystore must not import each other.
package keyid

// Short returns the first 7 characters of id, or id when it is shorter.
func Short(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}
