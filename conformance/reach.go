package conformance

import (
	"context"
	"fmt"

	"github.com/knogin/argus-sandbox/client"
)

// unreachableError says the sandbox could not connect to the consumer.
type unreachableError struct {
	sandbox, url, cause string
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("the sandbox at %s cannot reach the consumer at %s (%s)", e.sandbox, e.url, e.cause)
}

// reach checks, before any scenario, that the sandbox can deliver to the
// consumer: it subscribes url and sends one test event. Any HTTP answer,
// or a timeout (a slow consumer is the scenarios' business), will do; a
// connection that cannot be made is an error, since every scenario would
// fail for it.
func (s *sandbox) reach(ctx context.Context, url, secret string) error {
	id, err := s.Subscribe(ctx, url, []string{"case.updated"}, "conformance: reachability", secret)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", url, err)
	}
	defer func() { _ = s.DeleteWebhook(context.WithoutCancel(ctx), id) }()
	res, err := s.c.Webhooks().Test(ctx, id)
	if err != nil {
		return fmt.Errorf("send a test event to %s: %w", url, err)
	}
	a := res.Attempt
	if a == nil || a.ResponseStatus != nil || a.Error == nil {
		return nil
	}
	switch a.Error.Class {
	case client.ClassConnectionRefused, client.ClassDNS, client.ClassConnection, client.ClassForbiddenAddress, client.ClassTLS:
		return &unreachableError{sandbox: s.url, url: url, cause: string(a.Error.Class) + ": " + a.Error.Message}
	}
	return nil
}

// reachError names the setting to change: the URL of a Target, the
// callback host of a consumer the runner starts.
func reachError(cfg Config, err error) error {
	ue, ok := err.(*unreachableError)
	if !ok {
		return err
	}
	if _, target := cfg.Consumer.(*Target); target {
		return &FieldError{Field: "Consumer.URL", Reason: "is not reachable: " + ue.Error()}
	}
	return &FieldError{Field: "CallbackHost", Reason: fmt.Sprintf("%q is not an address the sandbox reaches this machine at: %s", cfg.CallbackHost, ue.Error())}
}
