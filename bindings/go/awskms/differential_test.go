package awskms_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// is returns a check that err is the SDK's typed error T (inside *smithy.OperationError).
func is[T error]() func(error) bool {
	return func(err error) bool {
		var target T
		var oe *smithy.OperationError
		return errors.As(err, &target) && errors.As(err, &oe)
	}
}

// checked is a step's outcome: the call's output and error, or, when wrong (a call that
// succeeded with members other than AWS's), an error saying what is wrong.
func checked(out any, err error, wrong bool, what string) (any, error) {
	if wrong {
		err = errors.New(what)
	}
	return out, err
}

// TestPythonDifferentialScript runs, step for step and in the same order, the script of
// bindings/python/tests/test_differential.py (which compares Trent with boto3 on moto) and
// checks each step's outcome: success with the members AWS returns, or the SDK error type
// AWS's answer deserializes to.
func TestPythonDifferentialScript(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	var key, key2 *string
	var blob, blobc []byte
	tenant := map[string]string{"tenant": "acme"}

	type step struct {
		name string
		run  func() (any, error)
		want func(error) bool // nil: must succeed
	}
	// createKey is a step that creates a key and keeps its id in *id.
	createKey := func(description string, id **string) func() (any, error) {
		return func() (any, error) {
			r, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(description)})
			if err == nil {
				*id = r.KeyMetadata.KeyId
			}
			return r, err
		}
	}
	steps := []step{
		{"create_key", createKey("diff", &key), nil},
		{"create_key_2", createKey("second", &key2), nil},
		{"create_alias", func() (any, error) {
			return c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/diff"), TargetKeyId: key})
		}, nil},
		{"create_alias_again", func() (any, error) {
			return c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/diff"), TargetKeyId: key})
		}, is[*types.AlreadyExistsException]()},
		{"describe_alias", func() (any, error) {
			r, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/diff")})
			return checked(r, err, err == nil && aws.ToString(r.KeyMetadata.KeyId) != aws.ToString(key), "alias names another key")
		}, nil},
		{"describe_missing", func() (any, error) {
			return c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
		}, is[*types.NotFoundException]()},
		{"encrypt", func() (any, error) {
			r, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/diff"), Plaintext: []byte("secret data")})
			if err == nil {
				blob = r.CiphertextBlob
			}
			return r, err
		}, nil},
		{"decrypt", func() (any, error) {
			r, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
			return checked(r, err, err == nil && string(r.Plaintext) != "secret data", "wrong plaintext")
		}, nil},
		{"encrypt_ctx", func() (any, error) {
			r, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("ctx data"), EncryptionContext: tenant})
			if err == nil {
				blobc = r.CiphertextBlob
			}
			return r, err
		}, nil},
		{"decrypt_ctx", func() (any, error) {
			return c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blobc, EncryptionContext: tenant})
		}, nil},
		{"decrypt_without_ctx", func() (any, error) {
			return c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blobc})
		}, is[*types.InvalidCiphertextException]()},
		{"decrypt_wrong_ctx", func() (any, error) {
			return c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blobc, EncryptionContext: map[string]string{"tenant": "evil"}})
		}, is[*types.InvalidCiphertextException]()},
		{"re_encrypt", func() (any, error) {
			return c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: blobc, SourceEncryptionContext: tenant, DestinationKeyId: key2})
		}, nil},
		{"generate_data_key", func() (any, error) {
			return c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: key, KeySpec: types.DataKeySpecAes256})
		}, nil},
		{"generate_data_key_bytes", func() (any, error) {
			return c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: key, NumberOfBytes: aws.Int32(64), EncryptionContext: map[string]string{"f": "1"}})
		}, nil},
		{"generate_data_key_without_plaintext", func() (any, error) {
			return c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: key, KeySpec: types.DataKeySpecAes128})
		}, nil},
		{"generate_random", func() (any, error) {
			return c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)})
		}, nil},
		{"update_key_description", func() (any, error) {
			return c.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: key, Description: aws.String("new")})
		}, nil},
		{"tag_resource", func() (any, error) {
			return c.TagResource(ctx, &kms.TagResourceInput{KeyId: key, Tags: []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("core")}}})
		}, nil},
		{"list_resource_tags", func() (any, error) {
			return c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: key})
		}, nil},
		{"untag_resource", func() (any, error) {
			return c.UntagResource(ctx, &kms.UntagResourceInput{KeyId: key, TagKeys: []string{"team"}})
		}, nil},
		{"enable_key_rotation", func() (any, error) {
			return c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: key})
		}, nil},
		{"get_key_rotation_status", func() (any, error) {
			r, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: key})
			return checked(r, err, err == nil && (!r.KeyRotationEnabled || aws.ToInt32(r.RotationPeriodInDays) != 365 || r.NextRotationDate == nil || r.KeyId == nil), "rotation status members")
		}, nil},
		{"disable_key_rotation", func() (any, error) {
			return c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: key})
		}, nil},
		{"rotate_key_on_demand", func() (any, error) {
			return c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: key})
		}, nil},
		{"list_key_rotations", func() (any, error) {
			return c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: key})
		}, nil},
		{"list_keys", func() (any, error) { return c.ListKeys(ctx, &kms.ListKeysInput{}) }, nil},
		{"list_aliases", func() (any, error) { return c.ListAliases(ctx, &kms.ListAliasesInput{}) }, nil},
		{"list_aliases_of_key", func() (any, error) { return c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: key}) }, nil},
		{"update_alias", func() (any, error) {
			return c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/diff"), TargetKeyId: key2})
		}, nil},
		{"delete_alias", func() (any, error) {
			return c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/diff")})
		}, nil},
		{"disable_key", func() (any, error) { return c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: key}) }, nil},
		{"encrypt_disabled", func() (any, error) {
			return c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")})
		}, is[*types.DisabledException]()},
		{"enable_key", func() (any, error) { return c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: key}) }, nil},
		{"schedule_key_deletion", func() (any, error) {
			r, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: key, PendingWindowInDays: aws.Int32(7)})
			return checked(r, err, err == nil && (r.DeletionDate == nil || r.KeyState != types.KeyStatePendingDeletion || aws.ToInt32(r.PendingWindowInDays) != 7), "ScheduleKeyDeletion members")
		}, nil},
		{"encrypt_pending_deletion", func() (any, error) {
			return c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")})
		}, is[*types.KMSInvalidStateException]()},
		{"describe_pending_deletion", func() (any, error) {
			r, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: key})
			return checked(r, err, err == nil && (r.KeyMetadata.KeyState != types.KeyStatePendingDeletion || r.KeyMetadata.DeletionDate == nil), "DescribeKey pending deletion")
		}, nil},
		{"cancel_key_deletion", func() (any, error) {
			return c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: key})
		}, nil},
	}
	for _, s := range steps {
		out, err := s.run()
		switch {
		case s.want == nil && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.want != nil && err == nil:
			t.Errorf("%s: succeeded, want an error", s.name)
		case s.want != nil && !s.want(err):
			t.Errorf("%s: wrong error type %T: %v", s.name, errors.Unwrap(err), err)
		case s.want == nil && out == nil:
			t.Errorf("%s: nil output", s.name)
		}
	}
}
