package provider

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"
)

// Backoff retries transient failures (rate limits, server errors, timeouts)
// with exponential delays and jitter, as every provider's API asks of its
// clients. Anything else fails at once with the provider's own message.
type Backoff struct {
	Attempts int           // tries in all, the first included
	Base     time.Duration // the first delay
	Max      time.Duration // no delay is longer
	// Budget bounds the time spent waiting between tries; zero leaves
	// Attempts alone to decide. It counts the waits, not the requests, so
	// how long an outage is ridden out does not depend on how busy the
	// machine or the API is.
	Budget time.Duration
}

// DefaultBackoff rides out two minutes of rate limiting or server errors:
// it tries again from half a second up to 5 s apart until two minutes have
// been spent waiting, and never more than 40 times. A burst of 20 refusals
// in a row is therefore ridden out whatever the jitter (27 tries at the
// least fit in the budget).
var DefaultBackoff = Backoff{Attempts: 40, Base: 500 * time.Millisecond, Max: 5 * time.Second, Budget: 2 * time.Minute}

// Transient reports whether an error is worth another try.
func Transient(err error) bool {
	var api *APIError
	if errors.As(err, &api) {
		return api.Status == 429 || api.Status >= 500
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return false
}

// Do runs op until it succeeds, fails with a non-transient error, runs out
// of attempts or the context ends.
func (b Backoff) Do(ctx context.Context, op func() error) error {
	return b.DoIf(ctx, Transient, op)
}

// Unprocessed reports whether the API says it did nothing with a request
// (429 or 503): the only failures after which a create may be sent again
// without risking a second resource.
func Unprocessed(err error) bool {
	var api *APIError
	return errors.As(err, &api) && (api.Status == 429 || api.Status == 503)
}

// DoIf is Do with the caller's own idea of which errors deserve another try.
func (b Backoff) DoIf(ctx context.Context, retry func(error) bool, op func() error) error {
	delay := b.Base
	var err error
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		if err = op(); err == nil || !retry(err) || attempt >= b.Attempts {
			return err
		}
		// Equal jitter: many clients retrying together spread out, and
		// each wait is at least half its delay, so the budget holds a
		// known least number of tries.
		wait := delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
		if b.Budget > 0 && waited+wait > b.Budget {
			return err
		}
		waited += wait
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(wait):
		}
		delay = min(delay*2, b.Max)
	}
}

// Wait polls get every interval until ready says the thing is done (or has
// failed), the timeout passes or the context ends. Providers use it for
// their asynchronous statuses: BUILD → ACTIVE, CREATING → READY.
func Wait[T any](ctx context.Context, interval, timeout time.Duration, get func(context.Context) (T, error), ready func(T) (bool, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		v, err := get(ctx)
		if err != nil {
			return v, err
		}
		done, err := ready(v)
		if err != nil || done {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// WaitStatus is Wait for a resource with a status: each new status is
// reported to the context's progress as "what: status".
func WaitStatus[T any](ctx context.Context, interval, timeout time.Duration, what string, get func(context.Context) (T, error), status func(T) string, ready func(T) (bool, error)) (T, error) {
	last := ""
	return Wait(ctx, interval, timeout, get, func(v T) (bool, error) {
		if st := status(v); st != last {
			Report(ctx, "%s: %s", what, st)
			last = st
		}
		return ready(v)
	})
}

// WaitGone waits until get answers ErrNotFound: a delete is done when the
// API no longer knows the thing, not when it accepted the request.
func WaitGone(ctx context.Context, interval, timeout time.Duration, what string, get func(context.Context) error) error {
	_, err := Wait(ctx, interval, timeout, func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if errors.Is(err, ErrNotFound) {
			return true, nil
		}
		return false, err
	}, func(done bool) (bool, error) {
		if !done {
			Report(ctx, "%s: deleting", what)
		}
		return done, nil
	})
	return err
}
