package awskms

import trent "github.com/trent-kms/trent/bindings/go"

// NewJSONOnly is a client whose every operation takes the JSON path (the reference of the
// typed paths).
func NewJSONOnly(k *trent.KMS) *Client { return &Client{kms: k, jsonOnly: true} }

// TypedCalls is the number of calls the typed paths have served.
func TypedCalls() int64 { return typedCalls.Load() }
