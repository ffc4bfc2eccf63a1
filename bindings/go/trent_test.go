package trent_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	trent "github.com/trent-kms/trent/bindings/go"
)

func open(t testing.TB, opts ...trent.Option) *trent.KMS {
	t.Helper()
	k, err := trent.Open(append([]trent.Option{trent.AllowUnlockedMemory(true)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func mustKey(t testing.TB, k *trent.KMS) string {
	t.Helper()
	id, err := k.CreateKey("test key")
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return id
}

// wantErr checks err is an *Error of the sentinel's kind, through errors.Is and errors.As.
func wantErr(t *testing.T, err error, sentinel *trent.Error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got %v, want %s", err, sentinel.Name)
	}
	var te *trent.Error
	if !errors.As(err, &te) || te.Name != sentinel.Name || te.Code != sentinel.Code {
		t.Fatalf("errors.As: got %#v, want name %s", te, sentinel.Name)
	}
}

func TestVersion(t *testing.T) {
	if v := trent.Version(); v == "" {
		t.Fatal("empty version")
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	ctx := map[string]string{"tenant": "acme", "purpose": "test"}
	for _, n := range []int{1, 16, 1000, 4096} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		blob, err := k.Encrypt(id, pt, ctx)
		if err != nil {
			t.Fatalf("Encrypt %d: %v", n, err)
		}
		got, err := k.Decrypt(blob, ctx)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Decrypt %d: %v", n, err)
		}
		got, err = k.DecryptWithKey(id, blob, ctx)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("DecryptWithKey %d: %v", n, err)
		}
	}
	blob, _ := k.Encrypt(id, []byte("x"), ctx)
	_, err := k.Decrypt(blob, nil)
	wantErr(t, err, trent.ErrInvalidCiphertext)
	_, err = k.Decrypt(blob, map[string]string{"tenant": "other", "purpose": "test"})
	wantErr(t, err, trent.ErrInvalidCiphertext)
	other := mustKey(t, k)
	_, err = k.DecryptWithKey(other, blob, ctx)
	wantErr(t, err, trent.ErrIncorrectKey)
	_, err = k.Encrypt(id, make([]byte, 4097), nil)
	wantErr(t, err, trent.ErrValidation)
	_, err = k.Encrypt(id, nil, nil)
	wantErr(t, err, trent.ErrValidation)
}

func TestLargeContext(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	ctx := map[string]string{}
	for i := 0; i < 40; i++ { // more pairs and bytes than the inline arrays hold
		ctx[fmt.Sprintf("key-%02d", i)] = fmt.Sprintf("value-%02d-%s", i, bytes.Repeat([]byte("v"), 20))
	}
	blob, err := k.Encrypt(id, []byte("hello"), ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Decrypt(blob, ctx)
	if err != nil || string(got) != "hello" {
		t.Fatalf("Decrypt: %v", err)
	}
	delete(ctx, "key-00")
	_, err = k.Decrypt(blob, ctx)
	wantErr(t, err, trent.ErrInvalidCiphertext)
}

func TestKeyLifecycleAndAliases(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	if err := k.CreateAlias("alias/app", id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, k.CreateAlias("alias/app", id), trent.ErrAlreadyExists)
	wantErr(t, k.CreateAlias("noprefix", id), trent.ErrValidation)
	blob, err := k.Encrypt("alias/app", []byte("data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.DisableKey(id); err != nil {
		t.Fatal(err)
	}
	_, err = k.Encrypt(id, []byte("data"), nil)
	wantErr(t, err, trent.ErrDisabled)
	_, err = k.Decrypt(blob, nil)
	wantErr(t, err, trent.ErrDisabled)
	if err := k.EnableKey(id); err != nil {
		t.Fatal(err)
	}
	if err := k.UpdateKeyDescription(id, "new"); err != nil {
		t.Fatal(err)
	}
	md, err := k.DescribeKey("alias/app")
	if err != nil || md.KeyID != id || md.Description != "new" || md.KeyState != "Enabled" || md.CreationDate.IsZero() {
		t.Fatalf("DescribeKey: %+v %v", md, err)
	}
	id2 := mustKey(t, k)
	if err := k.UpdateAlias("alias/app", id2); err != nil {
		t.Fatal(err)
	}
	aliases, _, err := k.ListAliases("", trent.Page{})
	if err != nil || len(aliases) != 1 || aliases[0].TargetKeyID != id2 || aliases[0].AliasName != "alias/app" ||
		aliases[0].CreationDate == nil || aliases[0].AliasArn == "" {
		t.Fatalf("ListAliases: %+v %v", aliases, err)
	}
	if none, _, err := k.ListAliases(id, trent.Page{}); err != nil || len(none) != 0 {
		t.Fatalf("ListAliases of a key without: %+v %v", none, err)
	}
	if err := k.DeleteAlias("alias/app"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, k.DeleteAlias("alias/app"), trent.ErrNotFound)

	if err := k.ScheduleKeyDeletion(id, 7); err != nil {
		t.Fatal(err)
	}
	_, err = k.Encrypt(id, []byte("data"), nil)
	wantErr(t, err, trent.ErrInvalidState)
	md, _ = k.DescribeKey(id)
	if md.KeyState != "PendingDeletion" || md.DeletionDate == nil {
		t.Fatalf("after ScheduleKeyDeletion: %+v", md)
	}
	wantErr(t, k.ScheduleKeyDeletion(id2, 3), trent.ErrValidation)
	if err := k.CancelKeyDeletion(id); err != nil {
		t.Fatal(err)
	}
	md, _ = k.DescribeKey(id)
	if md.KeyState != "Disabled" {
		t.Fatalf("after CancelKeyDeletion: %s", md.KeyState)
	}
	keys, next, err := k.ListKeys(trent.Page{})
	if err != nil || len(keys) != 2 || next != "" || keys[0].KeyArn == "" {
		t.Fatalf("ListKeys: %v %q %v", keys, next, err)
	}
	// Paging: one key per page.
	var paged []trent.KeyListEntry
	page := trent.Page{Limit: 1}
	for i := 0; i < 5; i++ {
		ks, next, err := k.ListKeys(page)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, ks...)
		if next == "" {
			break
		}
		page.Marker = next
	}
	if len(paged) != 2 || paged[0] == paged[1] {
		t.Fatalf("paged ListKeys: %v", paged)
	}
	_, _, err = k.ListKeys(trent.Page{Marker: "bogus"})
	wantErr(t, err, trent.ErrInvalidMarker)
	_, err = k.DescribeKey("1234abcd-12ab-34cd-56ef-1234567890ab")
	wantErr(t, err, trent.ErrNotFound)
	wantErr(t, k.EnableKey("not a key"), trent.ErrNotFound)
}

func TestRotationAndTags(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	blob, _ := k.Encrypt(id, []byte("before"), nil)
	if err := k.EnableKeyRotation(id, 90); err != nil {
		t.Fatal(err)
	}
	st, err := k.GetKeyRotationStatus(id)
	if err != nil || !st.KeyRotationEnabled || st.RotationPeriodInDays != 90 {
		t.Fatalf("GetKeyRotationStatus: %+v %v", st, err)
	}
	wantErr(t, k.EnableKeyRotation(id, 10), trent.ErrValidation)
	if err := k.RotateKeyOnDemand(id); err != nil {
		t.Fatal(err)
	}
	if st.NextRotationDate == nil || st.NextRotationDate.Before(time.Now().Add(80*24*time.Hour)) {
		t.Fatalf("NextRotationDate: %v", st.NextRotationDate)
	}
	rot, _, err := k.ListKeyRotations(id, trent.Page{})
	if err != nil || len(rot) != 1 || rot[0].RotationType != "ON_DEMAND" || rot[0].RotationDate == nil ||
		time.Since(*rot[0].RotationDate) > time.Hour || rot[0].KeyMaterialID == "" || rot[0].KeyID == "" {
		t.Fatalf("ListKeyRotations: %+v %v", rot, err)
	}
	if got, err := k.Decrypt(blob, nil); err != nil || string(got) != "before" {
		t.Fatalf("old blob after rotation: %v", err)
	}
	if err := k.DisableKeyRotation(id); err != nil {
		t.Fatal(err)
	}
	if err := k.TagResource(id, map[string]string{"team": "a", "env": "test"}); err != nil {
		t.Fatal(err)
	}
	if err := k.UntagResource(id, []string{"env"}); err != nil {
		t.Fatal(err)
	}
	tags, _, err := k.ListResourceTags(id, trent.Page{})
	if err != nil || len(tags) != 1 || tags[0] != (trent.Tag{TagKey: "team", TagValue: "a"}) {
		t.Fatalf("ListResourceTags: %+v %v", tags, err)
	}
	wantErr(t, k.TagResource(id, map[string]string{"aws:reserved": "x"}), trent.ErrTag)
	if err := k.UntagResource(id, []string{"team", "absent"}); err != nil {
		t.Fatal(err)
	}
	if tags, _, err := k.ListResourceTags(id, trent.Page{}); err != nil || len(tags) != 0 {
		t.Fatalf("after untagging all: %+v %v", tags, err)
	}
	long := map[string]string{}
	for i := 0; i < 40; i++ { // more than the C side's stack arrays hold
		long[fmt.Sprintf("tag-%02d", i)] = strings.Repeat("v", 100)
	}
	if err := k.TagResource(id, long); err != nil {
		t.Fatal(err)
	}
	if tags, _, err := k.ListResourceTags(id, trent.Page{}); err != nil || len(tags) != 40 || len(tags[39].TagValue) != 100 {
		t.Fatalf("40 tags: %d %v", len(tags), err)
	}
	md, err := k.CreateKeyWithOptions(trent.CreateKeyOptions{Description: "mr", MultiRegion: true, Tags: []trent.Tag{{TagKey: "k", TagValue: "v"}}})
	if err != nil || !md.MultiRegion || md.Description != "mr" || !strings.HasPrefix(md.KeyID, "mrk-") || md.KeySpec != "SYMMETRIC_DEFAULT" ||
		md.KeyUsage != "ENCRYPT_DECRYPT" || md.Origin != "AWS_KMS" || md.KeyManager != "CUSTOMER" || md.CurrentKeyMaterialID == "" {
		t.Fatalf("CreateKeyWithOptions: %+v %v", md, err)
	}
	if tags, _, _ := k.ListResourceTags(md.KeyID, trent.Page{}); len(tags) != 1 || tags[0].TagKey != "k" {
		t.Fatalf("CreateKeyWithOptions tags: %+v", tags)
	}
	_, err = k.CreateKeyWithOptions(trent.CreateKeyOptions{Policy: "not json"})
	wantErr(t, err, trent.ErrMalformedPolicyDocument)
	_, err = k.CreateKeyWithOptions(trent.CreateKeyOptions{KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY"})
	wantErr(t, err, trent.ErrUnsupportedOperation)
	_, err = k.CreateKeyWithOptions(trent.CreateKeyOptions{KeySpec: "NOT_A_SPEC"})
	wantErr(t, err, trent.ErrValidation)
}

func TestDataKeysAndRandom(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	ctx := map[string]string{"file": "a"}
	dk, err := k.GenerateDataKey(id, 0, ctx)
	if err != nil || len(dk.Plaintext) != 32 {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	got, err := k.Decrypt(dk.CiphertextBlob, ctx)
	if err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Fatalf("unwrap: %v", err)
	}
	dk, err = k.GenerateDataKey(id, 1024, nil)
	if err != nil || len(dk.Plaintext) != 1024 {
		t.Fatalf("GenerateDataKey 1024: %v", err)
	}
	_, err = k.GenerateDataKey(id, 1025, nil)
	wantErr(t, err, trent.ErrValidation)
	blob, err := k.GenerateDataKeyWithoutPlaintext(id, 16, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Decrypt(blob, ctx); err != nil || len(got) != 16 {
		t.Fatalf("unwrap without plaintext: %v", err)
	}
	r, err := k.GenerateRandom(64)
	if err != nil || len(r) != 64 || bytes.Equal(r, make([]byte, 64)) {
		t.Fatalf("GenerateRandom: %v", err)
	}
	_, err = k.GenerateRandom(0)
	wantErr(t, err, trent.ErrValidation)
}

func TestReEncrypt(t *testing.T) {
	k := open(t)
	a, b := mustKey(t, k), mustKey(t, k)
	src := map[string]string{"s": "1"}
	dst := map[string]string{"d": "2"}
	blob, _ := k.Encrypt(a, []byte("move me"), src)
	nb, err := k.ReEncrypt(blob, src, b, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.DecryptWithKey(b, nb, dst); err != nil || string(got) != "move me" {
		t.Fatalf("after ReEncrypt: %v", err)
	}
	_, err = k.ReEncrypt(blob, nil, b, dst)
	wantErr(t, err, trent.ErrInvalidCiphertext)
	res, err := k.ReEncryptBatch(b, []trent.ReEncryptItem{
		{CiphertextBlob: blob, SourceContext: src, DestinationContext: dst},
		{CiphertextBlob: blob},
	})
	if err != nil || len(res) != 2 || res[0].Err != nil || res[1].Err == nil {
		t.Fatalf("ReEncryptBatch: %+v %v", res, err)
	}
	wantErr(t, res[1].Err, trent.ErrInvalidCiphertext)
	if got, err := k.Decrypt(res[0].Data, dst); err != nil || string(got) != "move me" {
		t.Fatalf("after ReEncryptBatch: %v", err)
	}
}

func TestBatches(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	ctx := map[string]string{"batch": "yes"}
	b, err := k.GenerateDataKeys(id, 0, ctx, 100)
	if err != nil || b.Len() != 100 {
		t.Fatalf("GenerateDataKeys: %v", err)
	}
	seen := map[string]bool{}
	for i := 0; i < b.Len(); i++ {
		dk, err := b.At(i)
		if err != nil || len(dk.Plaintext) != 32 {
			t.Fatalf("item %d: %v", i, err)
		}
		seen[string(dk.Plaintext)] = true
		if i%10 == 0 {
			got, err := k.Decrypt(dk.CiphertextBlob, ctx)
			if err != nil || !bytes.Equal(got, dk.Plaintext) {
				t.Fatalf("unwrap item %d: %v", i, err)
			}
		}
	}
	if len(seen) != 100 {
		t.Fatalf("data keys repeat: %d distinct", len(seen))
	}
	_, err = b.At(100)
	wantErr(t, err, trent.ErrIndexOutOfRange)
	b.Clear()
	if dk, _ := b.At(0); !bytes.Equal(dk.Plaintext, make([]byte, 32)) {
		t.Fatal("Clear left plaintext")
	}
	_, err = k.GenerateDataKeys("alias/none", 0, nil, 4)
	wantErr(t, err, trent.ErrNotFound)
	if b, err := k.GenerateDataKeys(id, 0, nil, 0); err != nil || b.Len() != 0 {
		t.Fatalf("empty batch: %v", err)
	}

	items := []trent.BatchItem{
		{Data: []byte("one"), Context: map[string]string{"i": "1"}},
		{Data: bytes.Repeat([]byte("2"), 4096)},
		{Data: make([]byte, 5000)}, // too long: that item fails
		{Data: []byte("four"), Context: map[string]string{"i": "4", "j": "x"}},
	}
	enc, err := k.EncryptBatch(id, items)
	if err != nil || len(enc) != 4 {
		t.Fatalf("EncryptBatch: %v", err)
	}
	wantErr(t, enc[2].Err, trent.ErrValidation)
	dec := []trent.BatchItem{
		{Data: enc[0].Data, Context: items[0].Context},
		{Data: enc[1].Data},
		{Data: []byte("garbage")},
		{Data: enc[3].Data, Context: map[string]string{"i": "4"}}, // wrong context
		{Data: enc[3].Data, Context: items[3].Context},
	}
	res, err := k.DecryptBatch(dec)
	if err != nil || len(res) != 5 {
		t.Fatalf("DecryptBatch: %v", err)
	}
	if !bytes.Equal(res[0].Data, items[0].Data) || !bytes.Equal(res[1].Data, items[1].Data) || !bytes.Equal(res[4].Data, items[3].Data) {
		t.Fatal("DecryptBatch: wrong plaintexts")
	}
	wantErr(t, res[2].Err, trent.ErrInvalidCiphertext)
	wantErr(t, res[3].Err, trent.ErrInvalidCiphertext)
	_, err = k.EncryptBatch("alias/none", items)
	wantErr(t, err, trent.ErrNotFound)
}

func TestCallJSON(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	out, err := k.CallJSON("DescribeKey", []byte(`{"KeyId":"`+id+`"}`))
	if err != nil || !bytes.Contains(out, []byte(id)) {
		t.Fatalf("CallJSON: %s %v", out, err)
	}
	_, err = k.CallJSON("NoSuchOperation", nil)
	wantErr(t, err, trent.ErrUnsupportedOperation)
	_, err = k.CallJSON("DescribeKey", []byte(`{`))
	wantErr(t, err, trent.ErrValidation)
	// A response bigger than the first buffer comes back whole.
	for i := 0; i < 60; i++ {
		mustKey(t, k)
	}
	out, err = k.CallJSON("ListKeys", nil)
	if err != nil || !bytes.HasSuffix(out, []byte("}")) || len(out) < 4096 {
		t.Fatalf("big response: %d bytes, %v", len(out), err)
	}
}

func TestCallers(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	c, err := trent.NewCaller("arn:aws:iam::111122223333:user/alice")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	alice := k.WithCaller(c)
	_, err = alice.Encrypt(id, []byte("x"), nil)
	wantErr(t, err, trent.ErrAccessDenied)
	_, err = trent.NewCaller("not an arn")
	wantErr(t, err, trent.ErrValidation)
	c.Close()
	_, err = alice.Encrypt(id, []byte("x"), nil)
	wantErr(t, err, trent.ErrClosed)
}

func TestOpenOptionsAndDurable(t *testing.T) {
	dir := t.TempDir()
	k, err := trent.Open(trent.DataDir(dir), trent.AllowUnlockedMemory(true), trent.AuditFile(filepath.Join(dir, "audit.jsonl")))
	if err != nil {
		t.Fatal(err)
	}
	if k.StoreBackend() != "sqlite" {
		t.Fatalf("backend %q", k.StoreBackend())
	}
	id := mustKey(t, k)
	blob, _ := k.Encrypt(id, []byte("durable"), nil)
	if err := k.FlushAudit(); err != nil {
		t.Fatal(err)
	}
	if err := k.CheckStoreIntegrity(); err != nil {
		t.Fatal(err)
	}
	if err := k.RunMaintenance(); err != nil {
		t.Fatal(err)
	}
	if err := k.RefreshNow(); err != nil {
		t.Fatal(err)
	}
	k.Close()
	k2, err := trent.Open(trent.DataDir(dir), trent.AllowUnlockedMemory(true))
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	if got, err := k2.Decrypt(blob, nil); err != nil || string(got) != "durable" {
		t.Fatalf("reopened: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "audit.jsonl")); err != nil || st.Size() == 0 {
		t.Fatalf("audit file: %v", err)
	}
	// Root key options and rotation.
	rk := bytes.Repeat([]byte{7}, 32)
	k3, err := trent.Open(trent.SQLite(filepath.Join(dir, "other.db")), trent.RootKey(rk), trent.AllowUnlockedMemory(true),
		trent.Region("eu-west-1"), trent.Account("444455556666"), trent.RefreshInterval(0), trent.MaxHotVersions(4),
		trent.LockedMemoryBudget(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer k3.Close()
	md, err := k3.CreateKeyWithOptions(trent.CreateKeyOptions{})
	if err != nil || md.AWSAccountID != "444455556666" {
		t.Fatalf("account option: %+v %v", md, err)
	}
	n, err := k3.RotateRootKey(trent.RootKeyBytes, bytes.Repeat([]byte{8}, 32))
	if err != nil || n != 1 {
		t.Fatalf("RotateRootKey: %d %v", n, err)
	}
	_, err = trent.Open(trent.RootKey([]byte("short")))
	wantErr(t, err, trent.ErrInvalidArgument)
	_, err = trent.Open(trent.Account("12"), trent.AllowUnlockedMemory(true))
	var te *trent.Error
	if !errors.As(err, &te) {
		t.Fatalf("bad account: %v", err)
	}
}

func TestClose(t *testing.T) {
	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		t.Fatal(err)
	}
	id := mustKey(t, k)
	if !k.MemoryIsLocked() && k.StoreBackend() != "memory" {
		t.Fatal("backend")
	}
	k.Close()
	k.Close()
	_, err = k.Encrypt(id, []byte("x"), nil)
	wantErr(t, err, trent.ErrClosed)
	if k.StoreBackend() != "" {
		t.Fatal("closed backend")
	}
}

// Close while other goroutines are calling: they finish or get ErrClosed, never a crash.
// TestCloseUnderLoad closes an engine while goroutines call it: it waits until every
// goroutine has made progress (round trips done), closes, and then requires that each
// goroutine sees ErrClosed (it loops until it does), that every call begun after Close
// returned fails with ErrClosed, and that calls in flight across Close either succeed or fail
// with ErrClosed. No sleeps: the waits are on the goroutines' own progress.
func TestCloseUnderLoad(t *testing.T) {
	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		t.Fatal(err)
	}
	id := mustKey(t, k)
	const goroutines, warmup = 4, 20
	var closed atomic.Bool // set once Close has returned
	var progressed, done sync.WaitGroup
	var sawClosed atomic.Int32
	ctx := map[string]string{"g": "x"}
	for g := 0; g < goroutines; g++ {
		progressed.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			signalled := false
			signal := func() {
				if !signalled {
					signalled = true
					progressed.Done()
				}
			}
			defer signal() // a goroutine that fails early must not block the test
			// check classifies one call's error; it returns false when the loop must stop.
			check := func(op string, after bool, err error) bool {
				switch {
				case errors.Is(err, trent.ErrClosed):
					sawClosed.Add(1)
					return false
				case err != nil:
					t.Errorf("%s: %v", op, err)
					return false
				case after:
					t.Errorf("%s began after Close returned and succeeded", op)
					return false
				}
				return true
			}
			for i := 0; ; i++ {
				after := closed.Load()
				blob, err := k.Encrypt(id, []byte("payload"), ctx)
				if !check("Encrypt", after, err) {
					return
				}
				after = closed.Load()
				_, err = k.Decrypt(blob, ctx)
				if !check("Decrypt", after, err) {
					return
				}
				if i+1 == warmup {
					signal()
				}
			}
		}()
	}
	progressed.Wait() // every goroutine has done its warm-up round trips (or failed)
	k.Close()
	closed.Store(true)
	done.Wait()
	if n := sawClosed.Load(); n != goroutines {
		t.Errorf("%d of %d goroutines saw ErrClosed", n, goroutines)
	}
	if _, err := k.Encrypt(id, []byte("payload"), nil); !errors.Is(err, trent.ErrClosed) {
		t.Errorf("Encrypt after Close: %v, want ErrClosed", err)
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx := map[string]string{"goroutine": fmt.Sprint(g)}
			for i := 0; i < 100; i++ {
				pt := []byte(fmt.Sprintf("g%d-i%d", g, i))
				blob, err := k.Encrypt(id, pt, ctx)
				if err != nil {
					t.Errorf("Encrypt: %v", err)
					return
				}
				got, err := k.Decrypt(blob, ctx)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("Decrypt: %v", err)
					return
				}
				if i%25 == 0 {
					if _, err := k.GenerateDataKeys(id, 0, ctx, 16); err != nil {
						t.Errorf("GenerateDataKeys: %v", err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
}

// Handles dropped without Close are freed by their finalizers.
func TestFinalizers(t *testing.T) {
	before := trent.LiveHandles()
	func() {
		for i := 0; i < 5; i++ {
			k, err := trent.Open(trent.AllowUnlockedMemory(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := k.CreateKey(""); err != nil {
				t.Fatal(err)
			}
		}
	}()
	for i := 0; i < 50 && trent.LiveHandles() > before; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := trent.LiveHandles(); n > before {
		t.Fatalf("%d handles still live after GC (before: %d)", n, before)
	}
}

func TestBatchReuseAndItemFailures(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	var b trent.DataKeyBatch
	for round := 0; round < 3; round++ {
		if err := k.GenerateDataKeysInto(&b, id, 16, nil, 50-10*round); err != nil {
			t.Fatal(err)
		}
		if b.Len() != 50-10*round {
			t.Fatalf("round %d: %d keys", round, b.Len())
		}
		dk, err := b.At(b.Len() - 1)
		if err != nil || len(dk.Plaintext) != 16 {
			t.Fatalf("round %d: %v", round, err)
		}
		if got, err := k.Decrypt(dk.CiphertextBlob, nil); err != nil || !bytes.Equal(got, dk.Plaintext) {
			t.Fatalf("round %d unwrap: %v", round, err)
		}
	}

	// A locked-memory budget too small for the batch: items fail on their own (or the batch
	// as a whole), always as typed errors, and the items that succeeded are right.
	small := open(t, trent.LockedMemoryBudget(256<<10))
	sid := mustKey(t, small)
	kb, err := small.GenerateDataKeys(sid, 1024, nil, 2000)
	if err != nil {
		var te *trent.Error
		if !errors.As(err, &te) {
			t.Fatalf("untyped: %v", err)
		}
		return
	}
	ok, failed := 0, 0
	for i := 0; i < kb.Len(); i++ {
		dk, err := kb.At(i)
		if err != nil {
			var te *trent.Error
			if !errors.As(err, &te) {
				t.Fatalf("untyped: %v", err)
			}
			failed++
			continue
		}
		ok++
		if i%200 == 0 {
			if got, err := small.Decrypt(dk.CiphertextBlob, nil); err == nil && !bytes.Equal(got, dk.Plaintext) {
				t.Fatalf("item %d: wrong key", i)
			}
		}
	}
	t.Logf("small budget: %d ok, %d failed", ok, failed)
}

func TestReEncryptBatchMany(t *testing.T) {
	k := open(t)
	a, b := mustKey(t, k), mustKey(t, k)
	var items []trent.ReEncryptItem
	for i := 0; i < 100; i++ {
		src := map[string]string{"i": fmt.Sprint(i)}
		blob, err := k.Encrypt(a, []byte(fmt.Sprint("item ", i)), src)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, trent.ReEncryptItem{CiphertextBlob: blob, SourceContext: src, DestinationContext: map[string]string{"j": fmt.Sprint(i)}})
	}
	res, err := k.ReEncryptBatch(b, items)
	if err != nil || len(res) != 100 {
		t.Fatalf("ReEncryptBatch: %v", err)
	}
	for i, r := range res {
		got, err := k.DecryptWithKey(b, r.Data, map[string]string{"j": fmt.Sprint(i)})
		if r.Err != nil || err != nil || string(got) != fmt.Sprint("item ", i) {
			t.Fatalf("item %d: %v %v", i, r.Err, err)
		}
	}
	_, err = k.ReEncryptBatch("alias/none", items)
	wantErr(t, err, trent.ErrNotFound)
	if res, err := k.ReEncryptBatch(b, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty ReEncryptBatch: %v", err)
	}
}

// A handle whose last use is an operation: nothing keeps it alive but the call itself, so in
// the forced-GC debug mode (-tags trent_gcdebug) its finalizer is due while the call runs.
// The binding's KeepAlive after each C call is what keeps this from freeing the engine under
// the call.
func TestLastUseIsTheCall(t *testing.T) {
	for i := 0; i < 20; i++ {
		k, err := trent.Open(trent.AllowUnlockedMemory(true))
		if err != nil {
			t.Fatal(err)
		}
		id, err := k.CreateKey("")
		if err != nil {
			t.Fatal(err)
		}
		blob, err := k.Encrypt(id, bytes.Repeat([]byte{1}, 4096), map[string]string{"a": "b"})
		if err != nil {
			t.Fatal(err)
		}
		var b *trent.DataKeyBatch
		switch i % 4 {
		case 0:
			_, err = k.Decrypt(blob, map[string]string{"a": "b"})
		case 1:
			b, err = k.GenerateDataKeys(id, 0, nil, 256)
		case 2:
			_, _, err = k.ListKeys(trent.Page{})
		case 3:
			_, err = k.DecryptBatch([]trent.BatchItem{{Data: blob, Context: map[string]string{"a": "b"}}})
		}
		if err != nil {
			t.Fatal(err)
		}
		if b != nil && b.Len() != 256 {
			t.Fatal("batch")
		}
		runtime.GC()
	}
}

// The Go codes are the C ABI's: each sentinel's name comes from trent_result_name.
func TestSentinelNames(t *testing.T) {
	for want, e := range map[string]*trent.Error{
		"NotFoundException": trent.ErrNotFound, "DisabledException": trent.ErrDisabled,
		"KMSInvalidStateException": trent.ErrInvalidState, "AlreadyExistsException": trent.ErrAlreadyExists,
		"ConflictException": trent.ErrConflict, "InvalidCiphertextException": trent.ErrInvalidCiphertext,
		"IncorrectKeyException": trent.ErrIncorrectKey, "InvalidKeyUsageException": trent.ErrInvalidKeyUsage,
		"InvalidArnException": trent.ErrInvalidArn, "InvalidAliasNameException": trent.ErrInvalidAliasName,
		"InvalidMarkerException": trent.ErrInvalidMarker, "InvalidGrantTokenException": trent.ErrInvalidGrantToken,
		"MalformedPolicyDocumentException": trent.ErrMalformedPolicyDocument, "TagException": trent.ErrTag,
		"UnsupportedOperationException": trent.ErrUnsupportedOperation, "LimitExceededException": trent.ErrLimitExceeded,
		"DryRunOperationException": trent.ErrDryRunOperation, "AccessDeniedException": trent.ErrAccessDenied,
		"ValidationException": trent.ErrValidation, "KMSInternalException": trent.ErrKMSInternal,
	} {
		if e.Name != want || !e.IsAWSException() {
			t.Errorf("code %d: name %q, want %q", e.Code, e.Name, want)
		}
	}
	for _, e := range []*trent.Error{trent.ErrPanic, trent.ErrNullParameter, trent.ErrInvalidUTF8, trent.ErrInvalidArgument,
		trent.ErrIndexOutOfRange, trent.ErrUnknownException, trent.ErrOpenSelfTest, trent.ErrOpenLockedMemory,
		trent.ErrOpenConfig, trent.ErrOpenStore, trent.ErrOpenRootKey} {
		if e.Name == "" || e.Name == "Unknown" || e.IsAWSException() {
			t.Errorf("code %d: name %q", e.Code, e.Name)
		}
	}
	if errors.Is(trent.ErrNotFound, trent.ErrDisabled) || !errors.Is(fmt.Errorf("wrapped: %w", trent.ErrNotFound), trent.ErrNotFound) {
		t.Error("errors.Is")
	}
}

func TestEnvelope(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	ctx := map[string]string{"file": "data.bin"}
	for _, tc := range []struct{ size, chunk int }{{0, 0}, {1, 0}, {3<<20 + 5, 0}, {10_000, 1024}} {
		data := bytes.Repeat([]byte{0x5a, 0x01}, tc.size/2+1)[:tc.size]
		sealed, err := k.EnvelopeEncrypt(id, data, ctx, tc.chunk)
		if err != nil {
			t.Fatalf("size %d: %v", tc.size, err)
		}
		got, err := k.EnvelopeDecrypt(sealed)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: round trip: %v", tc.size, err)
		}
		if tc.size > 0 {
			bad := bytes.Clone(sealed)
			bad[len(bad)-1] ^= 1
			_, err = k.EnvelopeDecrypt(bad)
			wantErr(t, err, trent.ErrInvalidCiphertext)
			_, err = k.EnvelopeDecrypt(sealed[:len(sealed)-1])
			wantErr(t, err, trent.ErrInvalidCiphertext)
		}
	}
	_, err := k.EnvelopeEncrypt(id, []byte("x"), nil, 10) // chunk below 1 KiB
	var te *trent.Error
	if !errors.As(err, &te) {
		t.Fatalf("bad chunk size: %v", err)
	}
	_, err = k.EnvelopeEncrypt("alias/none", []byte("x"), nil, 0)
	wantErr(t, err, trent.ErrNotFound)
	sealed, _ := k.EnvelopeEncrypt(id, []byte("later"), ctx, 0)
	if err := k.DisableKey(id); err != nil {
		t.Fatal(err)
	}
	_, err = k.EnvelopeDecrypt(sealed)
	wantErr(t, err, trent.ErrDisabled)
}

// TestSizesFromTheLibrary: blobs are CiphertextLen bytes (the library's
// trent_ciphertext_len), the Append variants write into a dst with that much spare capacity
// (Decrypt: len(blob)) without reallocating or allocating, and blobs too short to hold any
// plaintext (an output of zero bytes) are still ErrInvalidCiphertext.
func TestSizesFromTheLibrary(t *testing.T) {
	k := open(t)
	id := mustKey(t, k)
	ctx := map[string]string{"tenant": "acme"}
	for _, n := range []int{1, 17, 4096} {
		pt := bytes.Repeat([]byte{7}, n)
		dst := make([]byte, 3, 3+trent.CiphertextLen(n))
		out, err := k.EncryptAppend(dst, id, pt, ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 3+trent.CiphertextLen(n) || &out[0] != &dst[0] {
			t.Fatalf("%d bytes: blob of %d bytes (want %d), reallocated %v", n, len(out)-3, trent.CiphertextLen(n), &out[0] != &dst[0])
		}
		blob := out[3:]
		pdst := make([]byte, 2, 2+len(blob))
		got, err := k.DecryptAppend(pdst, id, blob, ctx)
		if err != nil || !bytes.Equal(got[2:], pt) || &got[0] != &pdst[0] {
			t.Fatalf("%d bytes: DecryptAppend: %v", n, err)
		}
		re, err := k.ReEncrypt(blob, ctx, id, nil)
		if err != nil || len(re) != len(blob) {
			t.Fatalf("%d bytes: ReEncrypt: %v (%d bytes)", n, err, len(re))
		}
		if !raceEnabled && !trent.GCDebug {
			allocs := testing.AllocsPerRun(20, func() {
				if out, err = k.EncryptAppend(dst[:0], id, pt, ctx); err != nil {
					t.Fatal(err)
				}
				if got, err = k.DecryptAppend(pdst[:0], id, out, ctx); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%d bytes: EncryptAppend and DecryptAppend with room allocate %v times", n, allocs)
			}
		}
	}
	if trent.CiphertextLen(0) <= 0 {
		t.Fatal("no overhead")
	}
	_, err := k.Decrypt(nil, nil) // the engine's check of the member
	wantErr(t, err, trent.ErrValidation)
	for _, n := range []int{1, trent.CiphertextLen(0) - 1, trent.CiphertextLen(0)} {
		_, err := k.Decrypt(make([]byte, n), nil)
		wantErr(t, err, trent.ErrInvalidCiphertext)
	}
	dk, err := k.GenerateDataKey(id, 0, ctx)
	if err != nil || len(dk.Plaintext) != 32 || len(dk.CiphertextBlob) != trent.CiphertextLen(32) {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	wrapped, err := k.GenerateDataKeyWithoutPlaintext(id, 64, ctx)
	if err != nil || len(wrapped) != trent.CiphertextLen(64) {
		t.Fatalf("GenerateDataKeyWithoutPlaintext: %v", err)
	}
	arn, err := k.CiphertextKeyArn(wrapped)
	md, _ := k.DescribeKey(id)
	if err != nil || arn != md.Arn {
		t.Fatalf("CiphertextKeyArn: %q, %v; want %q", arn, err, md.Arn)
	}
	_, err = k.CiphertextKeyArn([]byte("not a blob"))
	wantErr(t, err, trent.ErrInvalidCiphertext)
}
