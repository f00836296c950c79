package consumer

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The code in this file serves the deliberately broken variants only: the
// correct consumer verifies with the Standard Webhooks library. Delete it
// with bugs.go.

// knownStatus are the case statuses BugStrictEnums accepts.
var knownStatus = map[string]bool{"OPEN": true, "IN_PROGRESS": true, "CLOSED": true}

// verifiesByHand reports whether the variant's bug lives in signature
// verification, which the library would not let it make.
func (c *Consumer) verifiesByHand() bool {
	switch c.cfg.Bug {
	case BugNarrowWindow, BugNoFutureBound, BugAnyVersion, BugFirstSignatureOnly, BugIDFromBody,
		BugReserializedBody, BugAnySecret, BugPinnedSecret:
		return true
	}
	return false
}

var errBadSignature = errors.New("signature does not verify")

// verifyByHand is Standard Webhooks verification with the variant's bug.
func (c *Consumer) verifyByHand(body []byte, h http.Header) error {
	id, ts, header := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || header == "" {
		return errBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errBadSignature
	}
	past, future := 5*time.Minute, 5*time.Minute
	switch {
	case c.bug(BugNarrowWindow):
		past, future = 10*time.Second, 10*time.Second
	case c.bug(BugNoFutureBound):
		future = 1<<63 - 1
	}
	if age := time.Since(time.Unix(sec, 0)); age > past || -age > future {
		return errBadSignature
	}
	signedID, signed := id, body
	if c.bug(BugIDFromBody) {
		var e struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body, &e)
		signedID = e.ID
	}
	if c.bug(BugReserializedBody) {
		if signed, err = reserialize(body); err != nil {
			return errBadSignature
		}
	}
	for _, key := range c.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(signedID + "." + ts + "."))
		mac.Write(signed)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for i, s := range strings.Fields(header) {
			if c.bug(BugFirstSignatureOnly) && i > 0 {
				break
			}
			version, got, ok := strings.Cut(s, ",")
			switch {
			case c.bug(BugAnyVersion) && !ok:
				got = version
			case version != "v1":
				if !c.bug(BugAnyVersion) {
					continue
				}
			}
			if hmac.Equal([]byte(got), []byte(want)) {
				return nil
			}
		}
	}
	return errBadSignature
}

// reserialize parses an event and writes it again, as a consumer that
// verifies "the event" rather than the bytes it received does.
func reserialize(body []byte) ([]byte, error) {
	var e struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Tenant    string         `json:"tenant"`
		Data      map[string]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

// secretKeys returns the HMAC keys the variant verifies with: every secret
// it was ever configured with (BugAnySecret), the first one
// (BugPinnedSecret), or the configured one. The secrets it has seen are
// kept in its state directory.
func secretKeys(cfg Config) ([][]byte, error) {
	secrets := []string{cfg.Secret}
	if cfg.Bug == BugAnySecret || cfg.Bug == BugPinnedSecret {
		name := filepath.Join(cfg.StateDir, "secrets")
		raw, err := os.ReadFile(name)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		secrets = strings.Fields(string(raw))
		known := false
		for _, s := range secrets {
			known = known || s == cfg.Secret
		}
		if !known {
			secrets = append(secrets, cfg.Secret)
			if err := os.WriteFile(name, []byte(strings.Join(secrets, "\n")+"\n"), 0o600); err != nil {
				return nil, err
			}
		}
		if cfg.Bug == BugPinnedSecret {
			secrets = secrets[:1]
		}
	}
	var keys [][]byte
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, nil
}
