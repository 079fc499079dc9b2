package kit

import (
	"context"
	"fmt"
	"net/http"
)

// Reach sends an unauthenticated GET to target and drains the answer: any
// HTTP status proves the server is reachable (the connectivity level of a
// provider whose endpoints all need credentials). It returns the status;
// only a transport failure (refused, timeout, blocked destination) is an
// error. what names the server in errors ("reach the OpsGenie API").
func (c Client) Reach(ctx context.Context, what, target string) (int, error) {
	return c.ReachWith(ctx, what, http.MethodGet, target)
}

// ReachWith is Reach with another method (HEAD).
func (c Client) ReachWith(ctx context.Context, what, method, target string) (int, error) {
	resp, err := c.Send(ctx, Request{Method: method, URL: target, Accept: "*/*"})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	Drain(resp)
	return resp.StatusCode, nil
}

// ReachAPI sends r without credentials and passes when the API answers as
// itself: any status httpx does not call a failure, or 401, which is the
// API asking for the credentials the connectivity level does not send. A
// 5xx, 404 (not the API's root) or 429 is still classified.
func (c Client) ReachAPI(ctx context.Context, what string, r Request) error {
	r.Auth = Auth{}
	_, err := c.CallChecked(ctx, what, r, nil, func(resp *http.Response) error {
		if resp.StatusCode == http.StatusUnauthorized {
			return nil
		}
		return c.Check(resp)
	})
	return err
}
