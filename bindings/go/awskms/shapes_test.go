package awskms

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	trent "github.com/trent-kms/trent/bindings/go"
)

// The adapter against the table of AWS shapes (shapes_gen.go, generated with the engine's and
// the Python client's tables by tools/shapes-gen): the same operations, members and error
// codes.

func implementedAWS() []string {
	var ops []string
	for _, op := range shapeOperations {
		if op.AWS && op.Implemented {
			ops = append(ops, op.Name)
		}
	}
	return ops
}

func TestAPIHasExactlyTheImplementedOperations(t *testing.T) {
	api := reflect.TypeOf((*API)(nil)).Elem()
	var methods []string
	for i := 0; i < api.NumMethod(); i++ {
		methods = append(methods, api.Method(i).Name)
	}
	sort.Strings(methods)
	want := implementedAWS()
	if !reflect.DeepEqual(methods, want) {
		t.Fatalf("API methods %v, the table's implemented operations %v", methods, want)
	}
	client := reflect.TypeOf((*Client)(nil))
	for _, op := range want {
		if _, ok := client.MethodByName(op); !ok {
			t.Errorf("*Client has no method %s", op)
		}
	}
}

// TestSDKShapesHaveTheTableMembers: each implemented operation's SDK input and output structs
// have a field for every member of the table, so the adapter can pass every member on.
func TestSDKShapesHaveTheTableMembers(t *testing.T) {
	client := reflect.TypeOf((*Client)(nil))
	for _, op := range shapeOperations {
		if !op.AWS || !op.Implemented {
			continue
		}
		m, ok := client.MethodByName(op.Name)
		if !ok {
			t.Errorf("no method %s", op.Name)
			continue
		}
		in := m.Type.In(2).Elem()   // *kms.<Op>Input
		out := m.Type.Out(0).Elem() // *kms.<Op>Output
		for _, member := range op.Input {
			if _, ok := in.FieldByName(member); !ok {
				t.Errorf("%s: the SDK's %s has no field %s", op.Name, in.Name(), member)
			}
		}
		for _, member := range op.Output {
			if _, ok := out.FieldByName(member); !ok {
				t.Errorf("%s: the SDK's %s has no field %s", op.Name, out.Name(), member)
			}
		}
	}
}

// TestErrorCodesMapToTheTableNames: every exception with a result code maps to the SDK error
// of that AWS name, and trent's Code constants agree with the table's codes.
func TestErrorCodesMapToTheTableNames(t *testing.T) {
	if len(shapeErrorCodes) < 20 {
		t.Fatalf("the table has %d error codes", len(shapeErrorCodes))
	}
	names := map[string]bool{}
	for _, n := range shapeErrorNames {
		names[n] = true
	}
	for _, e := range shapeErrorCodes {
		if !names[e.Name] {
			t.Errorf("%s is not an exception name of the table", e.Name)
		}
		err := apiError(&trent.Error{Code: trent.Code(e.Code), Name: e.Name, Message: "m"})
		var api smithy.APIError
		if !errors.As(err, &api) {
			t.Errorf("%s (%d): %T is not an API error", e.Name, e.Code, err)
			continue
		}
		if api.ErrorCode() != e.Name {
			t.Errorf("code %d: the adapter answers %s, the table says %s", e.Code, api.ErrorCode(), e.Name)
		}
	}
}

// TestEngineImplementsTheTableOperations: the engine linked in agrees with the table on which
// operations it implements.
func TestEngineImplementsTheTableOperations(t *testing.T) {
	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, op := range shapeOperations {
		_, err := k.CallJSON(op.Name, []byte("[]"))
		var te *trent.Error
		if !errors.As(err, &te) {
			t.Fatalf("%s: %v", op.Name, err)
		}
		unsupported := te.Code == trent.CodeUnsupportedOperationException
		if unsupported == op.Implemented {
			t.Errorf("%s: implemented %v in the table, the engine answers %v", op.Name, op.Implemented, err)
		}
	}
	// And the adapter's generic path reaches it.
	c := New(k)
	if _, err := c.ListKeys(context.Background(), &kms.ListKeysInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestTimestampMembersFromTheTable(t *testing.T) {
	for _, m := range []string{"CreationDate", "DeletionDate", "NextRotationDate", "RotationDate", "LastUpdatedDate"} {
		if !timestampMembers[m] {
			t.Errorf("%s is not a timestamp member", m)
		}
	}
	for _, p := range shapePaginators {
		found := false
		for _, op := range shapeOperations {
			if op.Name == p.Operation {
				found = contains(op.Output, p.ResultKey) && contains(op.Input, p.InputToken)
			}
		}
		if !found {
			t.Errorf("paginator %s does not fit its operation", p.Operation)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
