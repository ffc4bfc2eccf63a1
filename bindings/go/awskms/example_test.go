package awskms_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	trent "github.com/trent-kms/trent/bindings/go"
	"github.com/trent-kms/trent/bindings/go/awskms"
)

// KMS is what a service depends on: *kms.Client and *awskms.Client both satisfy it.
type KMS interface {
	Encrypt(context.Context, *kms.EncryptInput, ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

func Example() {
	k, _ := trent.Open(trent.AllowUnlockedMemory(true))
	defer k.Close()
	keyID, _ := k.CreateKey("")

	var api KMS = awskms.New(k) // in production: kms.NewFromConfig(cfg)
	ctx := context.Background()
	enc, _ := api.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("hello")})
	dec, _ := api.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	fmt.Println(string(dec.Plaintext))

	_, err := api.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/missing"), Plaintext: []byte("x")})
	var nf *types.NotFoundException
	fmt.Println(errors.As(err, &nf))
	// Output:
	// hello
	// true
}
