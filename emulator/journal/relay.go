package journal

import "encoding/json"

// Relay carries live-stream frames between the replicas of one sandbox
// (processes on one shared database), so a stream opened on any replica
// sends what every replica serves, publishes and delivers. The journal
// hands it each frame it publishes while Wanted, tells it whether this
// replica has subscribers, and streams what it delivers back through
// Journal.Deliver. A Relay never blocks the journal: Send queues.
type Relay interface {
	// Wanted reports whether another replica has a subscriber now, so a
	// frame sent would reach one.
	Wanted() bool
	// Send queues a frame this replica published, for the others.
	Send(RemoteFrame)
	// Listening says whether this replica has subscribers: while it
	// has, the others send it their frames.
	Listening(bool)
}

// RemoteFrame is a stream frame as it travels between replicas: the
// fields the subscribers' filters read, and the frame's data. A request
// frame carries its entry (Data is then its JSON); the others carry Data
// only.
type RemoteFrame struct {
	Kind      string          `json:"k"`
	Tenant    string          `json:"t,omitempty"`
	Operation string          `json:"o,omitempty"`
	Entry     *Entry          `json:"e,omitempty"`
	Data      json.RawMessage `json:"d,omitempty"`
}

// SetRelay connects the journal to the other replicas' streams. Call it
// before the journal serves streams.
func (j *Journal) SetRelay(r Relay) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.relay = r
	r.Listening(len(j.subs) > 0)
}

// relayLocked sends a frame this replica published to the others, when
// one of them has a subscriber; callers hold j.mu. v is what the frame's
// data encodes.
func (j *Journal) relayLocked(fr *frame, v any) {
	if j.relay == nil || !j.relay.Wanted() {
		return
	}
	rf := RemoteFrame{Kind: fr.kind, Tenant: fr.tenant, Operation: fr.operation, Entry: fr.entry}
	if fr.entry == nil {
		if fr.data == nil {
			data, err := json.Marshal(v)
			if err != nil {
				return
			}
			fr.data = data // the local subscribers' too
		}
		rf.Data = fr.data
	}
	j.relay.Send(rf)
}

// Deliver streams a frame another replica published to this replica's
// subscribers, numbered in this replica's stream.
func (j *Journal) Deliver(rf RemoteFrame) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	if len(j.subs) == 0 {
		return
	}
	fr := frame{seq: j.seq, kind: rf.Kind, tenant: rf.Tenant, operation: rf.Operation, entry: rf.Entry}
	if rf.Entry == nil {
		fr.data = rf.Data // already encoded; a request frame encodes its entry
	}
	j.broadcast(fr, rf.Entry)
}
