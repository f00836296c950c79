package sandboxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/sandboxtest"
)

// An integrator's typical test: register an app, mint a token, subscribe a
// webhook to a local receiver, change a case through GraphQL and check the
// signed delivery. With Docker, the container module's Run instead of
// RunInProcess runs the same test against the image.
func Example() {
	ctx := context.Background()
	sb, err := sandboxtest.RunInProcess(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Terminate(ctx)

	got, err := caseUpdateDelivery(ctx, sb)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got)
	// Output:
	// verified case.updated: case_acme_1001 OPEN -> IN_PROGRESS
}

// A fault rule from a test: the token endpoint is down for the next three
// requests, and the client sees what an integration would.
func ExampleSandbox_AddFault() {
	ctx := context.Background()
	sb, err := sandboxtest.RunInProcess(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Terminate(ctx)

	err = sb.AddFault(ctx, sandboxtest.FaultRule{Name: "token-outage", Match: client.FaultMatch{Operation: "token"},
		When: client.FaultWhen{First: 3}, Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503}}})
	if err != nil {
		log.Fatal(err)
	}
	_, err = sb.Client().OAuth().ClientCredentials(ctx, client.Credentials{ClientID: "cli_any", ClientSecret: "secret"})
	var refused *sandboxtest.Error
	if errors.As(err, &refused) {
		fmt.Println(refused.Status, refused.Code)
	}
	// Output:
	// 503 temporarily_unavailable
}

// delivery is one webhook request as the receiver saw it.
type delivery struct {
	header http.Header
	body   []byte
}

// caseUpdateDelivery runs the integrator flow against sb and describes the
// verified delivery.
func caseUpdateDelivery(ctx context.Context, sb *sandboxtest.Sandbox) (string, error) {
	// The integration's webhook endpoint.
	got := make(chan delivery, 10)
	receiver, err := sb.StartReceiver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), body}
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		return "", err
	}
	defer receiver.Close()

	// 1. The tenant administrator registers the app.
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	err = call(ctx, sb, sb.AdminToken("acme"), "POST", "/v1/platform/apps", map[string]any{
		"name":             "Case sync connector",
		"grant_types":      []string{"client_credentials"},
		"requested_scopes": []string{"cases:write", "webhooks:write"},
	}, http.StatusCreated, &app)
	if err != nil {
		return "", fmt.Errorf("register app: %w", err)
	}

	// 2. The app mints an access token (client credentials, RFC 6749 §4.4)
	// with the real golang.org/x/oauth2 client.
	cc := clientcredentials.Config{
		ClientID:     app.ClientID,
		ClientSecret: app.ClientSecret,
		TokenURL:     sb.BaseURL() + "/v1/oauth/token",
		Scopes:       []string{"cases:write", "webhooks:write"},
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, sb.HTTPClient()))
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}

	// 3. The app subscribes its endpoint to case.updated.
	var hook struct {
		Secret string `json:"secret"`
	}
	err = call(ctx, sb, tok.AccessToken, "POST", "/v1/webhooks", map[string]any{
		"url":    receiver.URL + "/webhooks/argus",
		"events": []string{"case.updated"},
	}, http.StatusCreated, &hook)
	if err != nil {
		return "", fmt.Errorf("create webhook: %w", err)
	}

	// 4. The app changes a case through GraphQL.
	var gql struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	err = call(ctx, sb, tok.AccessToken, "POST", "/v1/graphql", map[string]any{
		"query": `mutation { updateCase(id: "case_acme_1001", input: {status: IN_PROGRESS}) { id status } }`,
	}, http.StatusOK, &gql)
	if err == nil && len(gql.Errors) > 0 {
		err = errors.New(gql.Errors[0].Message)
	}
	if err != nil {
		return "", fmt.Errorf("updateCase: %w", err)
	}

	// 5. The delivery arrives signed per Standard Webhooks.
	var d delivery
	select {
	case d = <-got:
	case <-time.After(10 * time.Second):
		return "", errors.New("no delivery within 10s")
	}
	wh, err := standardwebhooks.NewWebhook(hook.Secret)
	if err != nil {
		return "", err
	}
	if err := wh.Verify(d.body, d.header); err != nil {
		return "", fmt.Errorf("signature: %w", err)
	}
	var event struct {
		Type string `json:"type"`
		Data struct {
			Case struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"case"`
			Changes struct {
				Status string `json:"status"`
			} `json:"changes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(d.body, &event); err != nil {
		return "", err
	}
	return fmt.Sprintf("verified %s: %s %s -> %s", event.Type, event.Data.Case.ID, event.Data.Changes.Status, event.Data.Case.Status), nil
}

// call sends a JSON request with a bearer token and decodes the answer.
func call(ctx context.Context, sb *sandboxtest.Sandbox, token, method, path string, in any, want int, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, sb.BaseURL()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := sb.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return json.Unmarshal(data, out)
}
