package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
)

// collector gathers the frames a relay delivers.
type collector struct {
	mu     sync.Mutex
	frames []journal.RemoteFrame
}

func (c *collector) deliver(f journal.RemoteFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, f)
}

func (c *collector) got() []journal.RemoteFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]journal.RemoteFrame(nil), c.frames...)
}

func openBus(t *testing.T, u string, c *collector) *sqlstore.StreamBus {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	b, err := db.StreamBus(sqlstore.StreamBusOptions{Deliver: c.deliver, Announce: 50 * time.Millisecond, StartAfter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamBusRelaysFramesBetweenReplicas: two relays on one database
// (two replicas). Neither sends while the other has no subscriber; once
// b has one, a's frames reach b in order and once each, a batch longer
// than a notification's payload limit (with characters of several bytes
// at the cuts) included, and a never hears its own. A relay in another
// schema of the same database hears nothing.
func TestStreamBusRelaysFramesBetweenReplicas(t *testing.T) {
	u := freshSchema(t)
	var ca, cb, cother collector
	a, b := openBus(t, u, &ca), openBus(t, u, &cb)
	other := openBus(t, freshSchema(t), &cother)
	other.Listening(true)
	time.Sleep(200 * time.Millisecond) // several announcement periods
	if a.Wanted() || b.Wanted() {
		t.Fatal("a relay wants frames while no replica of its schema has a subscriber")
	}
	b.Listening(true)
	waitUntil(t, "a to hear b's announcement", a.Wanted)
	// 12 frames of about 1,900 bytes each: about 23 KB, so the batch is
	// split into several notifications, some cuts inside a "é".
	body := strings.Repeat("é", 950)
	var want []string
	for i := range 12 {
		id := fmt.Sprint("r", i)
		want = append(want, id)
		data, _ := json.Marshal(map[string]string{"id": id, "body": body})
		a.Send(journal.RemoteFrame{Kind: journal.TypeEvent, Tenant: "acme", Data: data})
	}
	a.Send(journal.RemoteFrame{Kind: journal.TypeRequest, Tenant: "acme", Entry: &journal.Entry{RequestID: "req_1", Operation: "getApp", Status: 200}})
	waitUntil(t, "b to receive a's 13 frames", func() bool { return len(cb.got()) >= 13 })
	time.Sleep(100 * time.Millisecond) // nothing more arrives
	got := cb.got()
	if len(got) != 13 {
		t.Fatalf("b received %d frames, want 13", len(got))
	}
	for i, id := range want {
		var d map[string]string
		if err := json.Unmarshal(got[i].Data, &d); err != nil || d["id"] != id || d["body"] != body || got[i].Tenant != "acme" {
			t.Fatalf("frame %d: %s (%v), want %s with its body", i, got[i].Data[:min(40, len(got[i].Data))], err, id)
		}
	}
	if e := got[12].Entry; e == nil || e.RequestID != "req_1" || e.Operation != "getApp" {
		t.Fatalf("the request frame arrived as %+v", got[12])
	}
	if a.Sent() < 3 {
		t.Fatalf("a sent %d notifications for a 23 KB batch, want it split in at least 3", a.Sent())
	}
	if n := len(ca.got()); n != 0 {
		t.Fatalf("a delivered %d frames to itself", n)
	}
	if n := len(cother.got()); n != 0 || other.Received() != 0 {
		t.Fatalf("a relay in another schema received %d frames (%d notifications)", n, other.Received())
	}
	// Without subscribers on b, a stops sending after three periods.
	b.Listening(false)
	waitUntil(t, "a to stop wanting frames", func() bool { return !a.Wanted() })
}

// TestStreamBusListensAgainAfterALoss: when the database ends a relay's
// listening connection, the relay listens on a new one and announces its
// subscribers again, and the other replica's frames reach it.
func TestStreamBusListensAgainAfterALoss(t *testing.T) {
	u := freshSchema(t)
	var ca, cb collector
	a, b := openBus(t, u, &ca), openBus(t, u, &cb)
	b.Listening(true)
	waitUntil(t, "b to listen", func() bool { return b.ListenerPID() != 0 })
	waitUntil(t, "a to hear b", a.Wanted)
	old := b.ListenerPID()
	admin, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("SELECT pg_terminate_backend($1)", int64(old)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "b to listen on a new connection", func() bool { p := b.ListenerPID(); return p != 0 && p != old })
	waitUntil(t, "b's frames from a after the loss", func() bool {
		a.Send(journal.RemoteFrame{Kind: journal.TypeEvent, Tenant: "acme", Data: json.RawMessage(`{"id":"after"}`)})
		time.Sleep(50 * time.Millisecond)
		return len(cb.got()) > 0
	})
	if f := cb.got()[0]; string(f.Data) != `{"id":"after"}` {
		t.Fatalf("b received %s", f.Data)
	}
}
