package oauth

import "testing"

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	tok := e.clientToken("webhooks:read")
	p, err := e.svc.Verifier(ResourceWebhooks).Authenticate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", p)
}
