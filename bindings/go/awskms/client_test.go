package awskms_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/trent-kms/trent/bindings/go/awskms"
)

func newClient(t *testing.T) awskms.API {
	t.Helper()
	k := openKMS(t)
	return awskms.New(k)
}

// wantAPIError checks err is what the SDK returns for the exception: an
// *smithy.OperationError for op around the typed error T, whose ErrorCode is code.
func wantAPIError[T error](t *testing.T, err error, op, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", op, code)
	}
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("%s: got %T %v, want %T", op, err, err, target)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.Service() != "KMS" || oe.Operation() != op {
		t.Fatalf("%s: not an OperationError of KMS %s: %v", op, op, err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() == "" {
		t.Fatalf("%s: API error code %v, want %s", op, ae, code)
	}
}

// TestDifferentialSequence runs the Python differential test's sequence of operations
// (create key, create alias, encrypt, decrypt with and without context, re-encrypt, data
// keys, disable, schedule deletion, rotation, listing) through the SDK-shaped client and
// checks each outcome and the SDK error type AWS's answer would deserialize to.
func TestDifferentialSequence(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)

	// Create key.
	ck, err := c.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("differential"),
		Tags:        []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("go")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	md := ck.KeyMetadata
	if md == nil || md.KeyId == nil || md.KeyState != types.KeyStateEnabled || md.KeySpec != types.KeySpecSymmetricDefault ||
		md.KeyUsage != types.KeyUsageTypeEncryptDecrypt || md.CreationDate == nil || time.Since(*md.CreationDate) > time.Hour ||
		!md.Enabled || aws.ToString(md.Description) != "differential" {
		t.Fatalf("CreateKey: %+v", md)
	}
	keyID, keyArn := aws.ToString(md.KeyId), aws.ToString(md.Arn)
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	wantAPIError[*types.UnsupportedOperationException](t, err, "CreateKey", "UnsupportedOperationException")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String("{not a policy")})
	wantAPIError[*types.MalformedPolicyDocumentException](t, err, "CreateKey", "MalformedPolicyDocumentException")

	// Create alias.
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/diff"), TargetKeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/diff"), TargetKeyId: aws.String(keyID)})
	wantAPIError[*types.AlreadyExistsException](t, err, "CreateAlias", "AlreadyExistsException")
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/reserved"), TargetKeyId: aws.String(keyID)})
	wantAPIError[*types.InvalidAliasNameException](t, err, "CreateAlias", "InvalidAliasNameException")
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")})
	wantAPIError[*types.NotFoundException](t, err, "CreateAlias", "NotFoundException")

	// Encrypt.
	ec := map[string]string{"tenant": "acme"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/diff"), Plaintext: []byte("differential data"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(enc.KeyId) != keyArn || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault || len(enc.CiphertextBlob) == 0 {
		t.Fatalf("Encrypt: %+v", enc)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/missing"), Plaintext: []byte("x")})
	wantAPIError[*types.NotFoundException](t, err, "Encrypt", "NotFoundException")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: make([]byte, 4097)})
	wantAPIError[*smithy.GenericAPIError](t, err, "Encrypt", "ValidationException")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID)})
	wantAPIError[*smithy.GenericAPIError](t, err, "Encrypt", "ValidationException")

	// Decrypt with and without context.
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if string(dec.Plaintext) != "differential data" || aws.ToString(dec.KeyId) != keyArn || dec.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		t.Fatalf("Decrypt: %+v", dec)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantAPIError[*types.InvalidCiphertextException](t, err, "Decrypt", "InvalidCiphertextException")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "evil"}})
	wantAPIError[*types.InvalidCiphertextException](t, err, "Decrypt", "InvalidCiphertextException")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("not a blob at all, not at all")})
	wantAPIError[*types.InvalidCiphertextException](t, err, "Decrypt", "InvalidCiphertextException")

	// Re-encrypt.
	ck2, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	key2 := aws.ToString(ck2.KeyMetadata.KeyId)
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec,
		DestinationKeyId: aws.String(key2), DestinationEncryptionContext: map[string]string{"moved": "yes"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(re.SourceKeyId) != keyArn || aws.ToString(re.KeyId) != aws.ToString(ck2.KeyMetadata.Arn) {
		t.Fatalf("ReEncrypt: %+v", re)
	}
	dec2, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: map[string]string{"moved": "yes"}, KeyId: aws.String(key2)})
	if err != nil || string(dec2.Plaintext) != "differential data" {
		t.Fatalf("Decrypt after ReEncrypt: %v", err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: map[string]string{"moved": "yes"}, KeyId: aws.String(keyID)})
	wantAPIError[*types.IncorrectKeyException](t, err, "Decrypt", "IncorrectKeyException")
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: aws.String(key2)})
	wantAPIError[*types.InvalidCiphertextException](t, err, "ReEncrypt", "InvalidCiphertextException")

	// Data keys.
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil || len(dk.Plaintext) != 32 || aws.ToString(dk.KeyId) != keyArn {
		t.Fatalf("GenerateDataKey: %+v %v", dk, err)
	}
	unwrapped, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(unwrapped.Plaintext, dk.Plaintext) {
		t.Fatalf("unwrap data key: %v", err)
	}
	dk16, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), NumberOfBytes: aws.Int32(16)})
	if err != nil || len(dk16.Plaintext) != 16 {
		t.Fatalf("GenerateDataKey 16: %v", err)
	}
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID)})
	wantAPIError[*smithy.GenericAPIError](t, err, "GenerateDataKey", "ValidationException")
	wo, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes128})
	if err != nil || len(wo.CiphertextBlob) == 0 {
		t.Fatalf("GenerateDataKeyWithoutPlaintext: %v", err)
	}
	rnd, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)})
	if err != nil || len(rnd.Plaintext) != 32 {
		t.Fatalf("GenerateRandom: %v", err)
	}

	// Disable.
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("x")})
	wantAPIError[*types.DisabledException](t, err, "Encrypt", "DisabledException")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	wantAPIError[*types.DisabledException](t, err, "Decrypt", "DisabledException")
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes256})
	wantAPIError[*types.DisabledException](t, err, "GenerateDataKey", "DisabledException")
	d, _ := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/diff")})
	if d.KeyMetadata.KeyState != types.KeyStateDisabled || d.KeyMetadata.Enabled {
		t.Fatalf("after DisableKey: %+v", d.KeyMetadata)
	}
	if _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}

	// Schedule deletion.
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(key2), PendingWindowInDays: aws.Int32(3)})
	wantAPIError[*smithy.GenericAPIError](t, err, "ScheduleKeyDeletion", "ValidationException")
	sd, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(key2), PendingWindowInDays: aws.Int32(7)})
	if err != nil || sd.KeyState != types.KeyStatePendingDeletion || aws.ToInt32(sd.PendingWindowInDays) != 7 ||
		sd.DeletionDate == nil || sd.DeletionDate.Sub(time.Now()) < 6*24*time.Hour {
		t.Fatalf("ScheduleKeyDeletion: %+v %v", sd, err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key2), Plaintext: []byte("x")})
	wantAPIError[*types.KMSInvalidStateException](t, err, "Encrypt", "KMSInvalidStateException")
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(key2)})
	wantAPIError[*types.KMSInvalidStateException](t, err, "EnableKey", "KMSInvalidStateException")
	cd, err := c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(key2)})
	if err != nil || aws.ToString(cd.KeyId) == "" {
		t.Fatalf("CancelKeyDeletion: %v", err)
	}

	// Rotation.
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(keyID), RotationPeriodInDays: aws.Int32(180)}); err != nil {
		t.Fatal(err)
	}
	rs, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyID)})
	if err != nil || !rs.KeyRotationEnabled || aws.ToInt32(rs.RotationPeriodInDays) != 180 || rs.NextRotationDate == nil {
		t.Fatalf("GetKeyRotationStatus: %+v %v", rs, err)
	}
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(keyID), RotationPeriodInDays: aws.Int32(5)})
	wantAPIError[*smithy.GenericAPIError](t, err, "EnableKeyRotation", "ValidationException")
	rod, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String(keyID)})
	if err != nil || aws.ToString(rod.KeyId) == "" {
		t.Fatalf("RotateKeyOnDemand: %v", err)
	}
	lr, err := c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: aws.String(keyID)})
	if err != nil || len(lr.Rotations) != 1 || lr.Rotations[0].RotationType != types.RotationTypeOnDemand || lr.Rotations[0].RotationDate == nil {
		t.Fatalf("ListKeyRotations: %+v %v", lr, err)
	}
	if dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec}); err != nil || string(dec.Plaintext) != "differential data" {
		t.Fatalf("Decrypt after rotation: %v", err)
	}
	if _, err := c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}

	// Listing.
	lk, err := c.ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil || len(lk.Keys) != 2 || lk.Truncated {
		t.Fatalf("ListKeys: %+v %v", lk, err)
	}
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{Limit: aws.Int32(1)})
	pages, seen := 0, 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen += len(page.Keys)
	}
	if pages != 2 || seen != 2 {
		t.Fatalf("ListKeys paginator: %d pages, %d keys", pages, seen)
	}
	la, err := c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: aws.String(keyID)})
	if err != nil || len(la.Aliases) != 1 || aws.ToString(la.Aliases[0].AliasName) != "alias/diff" || la.Aliases[0].CreationDate == nil {
		t.Fatalf("ListAliases: %+v %v", la, err)
	}
	_, err = c.ListAliases(ctx, &kms.ListAliasesInput{Marker: aws.String("bogus")})
	wantAPIError[*types.InvalidMarkerException](t, err, "ListAliases", "InvalidMarkerException")
	if _, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(keyID), Tags: []types.Tag{{TagKey: aws.String("env"), TagValue: aws.String("test")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &kms.UntagResourceInput{KeyId: aws.String(keyID), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(keyID)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].TagKey) != "env" {
		t.Fatalf("ListResourceTags: %+v %v", tags, err)
	}
	if _, err := c.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: aws.String(keyID), Description: aws.String("d2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/diff"), TargetKeyId: aws.String(key2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/diff")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/diff")})
	wantAPIError[*types.NotFoundException](t, err, "DeleteAlias", "NotFoundException")
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/diff")})
	wantAPIError[*types.NotFoundException](t, err, "DescribeKey", "NotFoundException")
	_, err = c.DescribeKey(ctx, nil)
	wantAPIError[*smithy.GenericAPIError](t, err, "DescribeKey", "ValidationException")
}

func TestAccessDeniedAndContext(t *testing.T) {
	k := openKMS(t)
	id, _ := k.CreateKey("")
	c := awskms.New(k.WithCaller(appCaller(t)))
	_, err := c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
	wantAPIError[*smithy.GenericAPIError](t, err, "Encrypt", "AccessDeniedException")

	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = awskms.New(k).Encrypt(cctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: %v", err)
	}
}

func TestConcurrentClients(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ck, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := ck.KeyMetadata.KeyId
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 50; i++ {
				enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("concurrent"), EncryptionContext: map[string]string{"i": "x"}})
				if err != nil {
					done <- err
					return
				}
				dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"i": "x"}})
				if err != nil || string(dec.Plaintext) != "concurrent" {
					done <- errors.Join(err, errors.New("wrong plaintext"))
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
