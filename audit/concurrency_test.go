package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
)

// TestConcurrentWriters: 4 writers, each with its own Store (for
// PostgreSQL its own connection pool, as separate webhook replicas),
// append concurrently into one gap-free chain that verifies.
func TestConcurrentWriters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		const writers, each = 4, 100
		stores := make([]Store, writers)
		for i := range stores {
			stores[i] = b.open(t)
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		seqs := make(chan int64, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(s Store) {
				defer wg.Done()
				var inner sync.WaitGroup // several requests in flight per writer
				for g := 0; g < 4; g++ {
					inner.Add(1)
					go func() {
						defer inner.Done()
						for i := 0; i < each/4; i++ {
							e, err := s.Append(ctx, NewEntry(ctx, sampleDecision(i)))
							if err != nil {
								errs <- err
								return
							}
							seqs <- e.Seq
						}
					}()
				}
				inner.Wait()
			}(stores[w])
		}
		wg.Wait()
		close(errs)
		close(seqs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for s := range seqs {
			if seen[s] {
				t.Fatalf("seq %d acknowledged twice", s)
			}
			seen[s] = true
		}
		r, err := Verify(ctx, stores[0], nil)
		if err != nil || !r.OK || r.Entries != writers*each || len(seen) != writers*each {
			t.Fatalf("Verify = %+v, %v; %d acknowledged", r, err, len(seen))
		}
	})
}

const crashChildEnv = "GATEHOUSE_AUDIT_CRASH_CHILD"

// TestCrashChild is the child of TestCrashLosesNothingAcknowledged: it
// appends from 4 goroutines until killed, printing each acknowledged seq.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashChildEnv)
	if dsn == "" {
		t.Skip("runs only as the child of TestCrashLosesNothingAcknowledged")
	}
	ctx := context.Background()
	s, err := Open(ctx, dsn)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; ; i++ {
				e, err := s.Append(ctx, NewEntry(ctx, sampleDecision(i)))
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintln(out, e.Seq)
				out.Flush() // acknowledged = printed
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestCrashLosesNothingAcknowledged kill -9s a process appending under
// load: every seq it acknowledged is in the log afterwards, and the chain
// verifies.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in the child")
	}
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s := b.open(t) // migrated before the child starts
		s.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+b.dsn)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[int64]bool{}
		sc := bufio.NewScanner(stdout)
		deadline := time.Now().Add(20 * time.Second)
		for len(acked) < 1500 && time.Now().Before(deadline) && sc.Scan() {
			n, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				t.Fatalf("child: %q", sc.Text())
			}
			acked[n] = true
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for sc.Scan() { // what it printed before dying is acknowledged too
			if n, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				acked[n] = true
			}
		}
		cmd.Wait()
		if len(acked) < 100 {
			t.Fatalf("child acknowledged only %d appends", len(acked))
		}
		s = b.open(t)
		present := map[int64]bool{}
		if err := s.Range(ctx, 1, 0, func(e Entry) error { present[e.Seq] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		for seq := range acked {
			if !present[seq] {
				t.Errorf("acknowledged seq %d lost", seq)
			}
		}
		r, err := Verify(ctx, s, nil)
		if err != nil || !r.OK {
			t.Fatalf("Verify after kill -9 = %+v, %v", r, err)
		}
		t.Logf("%s: %d acknowledged before kill -9, %d in the log, chain verifies", b.name, len(acked), r.Entries)
	})
}

// TestVerifyWhileAppending: a log that grows during Verify (a serving
// webhook) verifies; only what was there at the start is checked.
func TestVerifyWhileAppending(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s := b.open(t)
		sv, _ := newSigner(t)
		appendN(t, s, 50)
		if _, err := WriteCheckpoint(ctx, s, sv, "k"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for i := 0; i < 300; i++ {
				if _, err := s.Append(ctx, NewEntry(ctx, sampleDecision(i))); err != nil {
					done <- err
					return
				}
				if i%50 == 0 {
					if _, err := WriteCheckpoint(ctx, s, sv, "k"); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
		for verified := 0; ; verified++ {
			r, err := Verify(ctx, s, []signature.Verifier{sv})
			if err != nil || !r.OK {
				t.Fatalf("Verify during appends = %+v, %v", r, err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%d verifications during 300 appends", verified+1)
				return
			default:
			}
		}
	})
}
