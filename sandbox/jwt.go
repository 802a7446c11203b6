package sandbox

import (
	"encoding/base64"
	"fmt"
	"time"
)

// accessToken makes an access token shaped as ACR's are, a JWT whose exp
// claim says when it expires, so that clients can cache it as they would
// ACR's. The sandbox itself recognises it by lookup, not by signature.
func accessToken(expires time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"none","typ":"JWT"}`))
	claims := enc([]byte(fmt.Sprintf(`{"iss":"acrtrust-sandbox","exp":%d,"jti":%q}`, expires.Unix(), randomToken())))
	return header + "." + claims + "." + randomToken()
}
