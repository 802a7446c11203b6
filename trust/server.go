package trust

import (
	"fmt"
	"net/url"
)

// ServerURL returns the trust (Notary) server for a registry host. ACR
// serves Notary on the registry's own login server, so the default is
// https://<registry>. override is DOCKER_CONTENT_TRUST_SERVER; like Docker
// it must be an https URL.
func ServerURL(registryHost, override string) (string, error) {
	if override != "" {
		u, err := url.Parse(override)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return "", fmt.Errorf("valid https URL required for trust server, got %s", override)
		}
		return override, nil
	}
	if registryHost == "docker.io" {
		// Docker Hub kept its trust data on a separate host.
		return "https://notary.docker.io", nil
	}
	return "https://" + registryHost, nil
}
