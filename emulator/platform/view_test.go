package platform

import (
	"encoding/json"
	"testing"
	"time"
)

// TestTextTimeEncodesAsTime checks that app views encode their times
// exactly as time.Time does, errors included.
func TestTextTimeEncodesAsTime(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 120000000, time.FixedZone("", 5*3600+1800)),
		time.Date(1999, 12, 31, 0, 0, 0, 1, time.FixedZone("", -8*3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, tm := range times {
		want, wantErr := json.Marshal(struct{ T time.Time }{tm})
		got, err := json.Marshal(struct{ T textTime }{textTime(tm)})
		if (err != nil) != (wantErr != nil) || string(got) != string(want) {
			t.Errorf("%v: got %s (%v), want %s (%v)", tm, got, err, want, wantErr)
		}
	}
}
