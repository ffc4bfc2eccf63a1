//! The JSON dispatcher, `Kms::call_json`: every operation through the AWS wire form, its
//! errors, and agreement with the typed methods.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use trent::*;

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn unb64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))).unwrap()
}

/// Calls operations and remembers which ones succeeded.
struct Client {
    kms: Kms,
    me: Caller,
    seen: BTreeSet<&'static str>,
}

impl Client {
    fn new() -> Self {
        let kms = Kms::builder().open().unwrap();
        let me = kms.root_caller();
        Self { kms, me, seen: BTreeSet::new() }
    }

    fn raw(&mut self, op: &'static str, body: &[u8]) -> Value {
        let out = self.kms.call_json(&self.me, op, body).unwrap_or_else(|e| panic!("{op}: {e}"));
        self.seen.insert(op);
        serde_json::from_slice(out.expose_secret()).unwrap()
    }

    fn call(&mut self, op: &'static str, body: Value) -> Value {
        self.raw(op, body.to_string().as_bytes())
    }

    fn err(&self, op: &str, body: &[u8]) -> Error {
        self.kms.call_json(&self.me, op, body).unwrap_err()
    }

    fn err_json(&self, op: &str, body: Value) -> Error {
        self.err(op, body.to_string().as_bytes())
    }

    fn new_key(&mut self) -> (String, String) {
        let meta = self.call("CreateKey", json!({}))["KeyMetadata"].clone();
        (meta["KeyId"].as_str().unwrap().to_owned(), meta["Arn"].as_str().unwrap().to_owned())
    }

    fn decrypt(&mut self, blob: &Value, ctx: Value) -> Vec<u8> {
        unb64(&self.call("Decrypt", json!({"CiphertextBlob": blob, "EncryptionContext": ctx}))["Plaintext"])
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn every_operation_through_json() {
    let mut c = Client::new();

    // Lifecycle.
    let created = c.call(
        "CreateKey",
        json!({"Description": "json", "Tags": [{"TagKey": "team", "TagValue": "a"}], "SomethingNew": [1, {"x": null}]}),
    );
    let meta = &created["KeyMetadata"];
    let id = meta["KeyId"].as_str().unwrap().to_owned();
    let arn = meta["Arn"].as_str().unwrap().to_owned();
    assert_eq!(arn, format!("arn:aws:kms:us-east-1:111122223333:key/{id}"));
    assert_eq!(meta["AWSAccountId"], "111122223333");
    assert_eq!(meta["KeyState"], "Enabled");
    assert_eq!(meta["Enabled"], true);
    assert_eq!(meta["KeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(meta["KeyUsage"], "ENCRYPT_DECRYPT");
    assert_eq!(meta["EncryptionAlgorithms"], json!(["SYMMETRIC_DEFAULT"]));
    assert!(meta["CreationDate"].is_number(), "timestamps are epoch seconds: {meta}");
    assert!(meta["CreationDate"].as_f64().unwrap() > 1.0e9);
    assert!(meta.get("DeletionDate").is_none());

    let described = c.call("DescribeKey", json!({"KeyId": arn}));
    assert_eq!(described["KeyMetadata"]["KeyId"], id.as_str());
    assert_eq!(described["KeyMetadata"]["Description"], "json");

    let listed = c.call("ListKeys", json!({}));
    assert_eq!(listed["Truncated"], false);
    assert!(listed.get("NextMarker").is_none());
    assert_eq!(listed["Keys"], json!([{"KeyId": id, "KeyArn": arn}]));
    // An empty body reads as `{}`.
    assert_eq!(c.raw("ListKeys", b""), listed);

    assert_eq!(c.call("UpdateKeyDescription", json!({"KeyId": id, "Description": "renamed"})), json!({}));
    assert_eq!(c.call("DescribeKey", json!({"KeyId": id}))["KeyMetadata"]["Description"], "renamed");

    assert_eq!(c.call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "env", "TagValue": "prod"}]})), json!({}));
    let tags = c.call("ListResourceTags", json!({"KeyId": id}));
    assert_eq!(
        tags,
        json!({"Tags": [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "a"}], "Truncated": false})
    );
    assert_eq!(c.call("UntagResource", json!({"KeyId": id, "TagKeys": ["env"]})), json!({}));
    assert_eq!(c.call("ListResourceTags", json!({"KeyId": id, "Limit": 10}))["Tags"].as_array().unwrap().len(), 1);

    // Key policies: one, `default`, listed by key id or ARN; a marker past it ends the list.
    let policies = json!({"PolicyNames": ["default"], "Truncated": false});
    assert_eq!(c.call("ListKeyPolicies", json!({"KeyId": id})), policies);
    assert_eq!(c.call("ListKeyPolicies", json!({"KeyId": arn, "Limit": 1})), policies);
    assert_eq!(c.call("ListKeyPolicies", json!({"KeyId": id, "Marker": "p:default"}))["PolicyNames"], json!([]));
    assert!(matches!(c.err_json("ListKeyPolicies", json!({"KeyId": id, "Marker": "x"})), Error::InvalidMarker(_)));
    // A management operation: an alias is not a key id.
    assert!(matches!(c.err_json("ListKeyPolicies", json!({"KeyId": "alias/json"})), Error::NotFound(_)));

    // Aliases.
    let (id2, arn2) = c.new_key();
    assert_eq!(c.call("CreateAlias", json!({"AliasName": "alias/json", "TargetKeyId": id})), json!({}));
    let aliases = c.call("ListAliases", json!({"KeyId": id}));
    let alias = &aliases["Aliases"][0];
    assert_eq!(alias["AliasName"], "alias/json");
    assert_eq!(alias["AliasArn"], "arn:aws:kms:us-east-1:111122223333:alias/json");
    assert_eq!(alias["TargetKeyId"], id.as_str());
    assert!(alias["CreationDate"].is_number() && alias["LastUpdatedDate"].is_number());
    assert_eq!(c.call("UpdateAlias", json!({"AliasName": "alias/json", "TargetKeyId": arn2})), json!({}));
    assert_eq!(c.call("ListAliases", json!({}))["Aliases"][0]["TargetKeyId"], id2.as_str());

    // Cryptographic operations.
    let ctx = json!({"tenant": "a"});
    let enc =
        c.call("Encrypt", json!({"KeyId": "alias/json", "Plaintext": b64(b"hello json"), "EncryptionContext": ctx}));
    assert_eq!(keys(&enc), ["CiphertextBlob", "EncryptionAlgorithm", "KeyId"].map(String::from).into());
    assert_eq!(enc["KeyId"], arn2.as_str());
    assert_eq!(enc["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    assert!(!unb64(&enc["CiphertextBlob"]).is_empty());

    let dec = c.call("Decrypt", json!({"CiphertextBlob": enc["CiphertextBlob"], "EncryptionContext": ctx}));
    assert_eq!(keys(&dec), ["EncryptionAlgorithm", "KeyId", "KeyMaterialId", "Plaintext"].map(String::from).into());
    assert_eq!(unb64(&dec["Plaintext"]), b"hello json");
    assert_eq!(dec["KeyId"], arn2.as_str());
    assert_eq!(dec["KeyMaterialId"].as_str().unwrap().len(), 64);

    let re = c.call(
        "ReEncrypt",
        json!({
            "CiphertextBlob": enc["CiphertextBlob"],
            "SourceEncryptionContext": ctx,
            "DestinationKeyId": id,
            "DestinationEncryptionContext": {"tenant": "b"},
        }),
    );
    assert_eq!(re["SourceKeyId"], arn2.as_str());
    assert_eq!(re["KeyId"], arn.as_str());
    assert_eq!(re["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    assert_eq!(re["DestinationKeyMaterialId"].as_str().unwrap().len(), 64);
    assert_eq!(c.decrypt(&re["CiphertextBlob"], json!({"tenant": "b"})), b"hello json");

    let dk = c.call("GenerateDataKey", json!({"KeyId": id, "KeySpec": "AES_256", "EncryptionContext": ctx}));
    assert_eq!(keys(&dk), ["CiphertextBlob", "KeyId", "KeyMaterialId", "Plaintext"].map(String::from).into());
    let plaintext = unb64(&dk["Plaintext"]);
    assert_eq!(plaintext.len(), 32);
    assert_eq!(c.decrypt(&dk["CiphertextBlob"], ctx.clone()), plaintext);

    let dk = c.call("GenerateDataKeyWithoutPlaintext", json!({"KeyId": arn, "NumberOfBytes": 16}));
    assert_eq!(keys(&dk), ["CiphertextBlob", "KeyId", "KeyMaterialId"].map(String::from).into());
    assert_eq!(c.decrypt(&dk["CiphertextBlob"], json!({})).len(), 16);

    let random = c.call("GenerateRandom", json!({"NumberOfBytes": 24}));
    assert_eq!(keys(&random), ["Plaintext"].map(String::from).into());
    assert_eq!(unb64(&random["Plaintext"]).len(), 24);

    // Rotation.
    assert_eq!(c.call("EnableKeyRotation", json!({"KeyId": id, "RotationPeriodInDays": 180})), json!({}));
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id}));
    assert_eq!(status["KeyRotationEnabled"], true);
    assert_eq!(status["RotationPeriodInDays"], 180);
    assert_eq!(status["KeyId"], arn.as_str());
    assert!(status["NextRotationDate"].is_number());
    assert_eq!(c.call("RotateKeyOnDemand", json!({"KeyId": id}))["KeyId"], id.as_str());
    let rotations = c.call("ListKeyRotations", json!({"KeyId": id}));
    assert_eq!(rotations["Rotations"].as_array().unwrap().len(), 1);
    assert_eq!(rotations["Rotations"][0]["RotationType"], "ON_DEMAND");
    assert_eq!(rotations["Rotations"][0]["KeyMaterialState"], "CURRENT");
    assert!(rotations["Rotations"][0]["RotationDate"].is_number());
    let all = c.call("ListKeyRotations", json!({"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}));
    assert_eq!(all["Rotations"].as_array().unwrap().len(), 2);
    assert_eq!(c.call("DisableKeyRotation", json!({"KeyId": id})), json!({}));
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id}));
    assert_eq!(status, json!({"KeyRotationEnabled": false, "KeyId": arn}));

    // State.
    assert_eq!(c.call("DisableKey", json!({"KeyId": id})), json!({}));
    let e = c.err_json("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"x")}));
    assert_eq!(e.name(), "DisabledException");
    assert_eq!(c.call("EnableKey", json!({"KeyId": id})), json!({}));

    // Batches.
    let gdk = c.call(
        "GenerateDataKeys",
        json!({"KeyId": id, "Count": 3, "KeySpec": "AES_128", "EncryptionContext": ctx, "Execution": "SERIAL"}),
    );
    assert_eq!(gdk["KeyId"], arn.as_str());
    assert_eq!(gdk["KeyMaterialId"].as_str().unwrap().len(), 64);
    let data_keys = gdk["DataKeys"].as_array().unwrap();
    assert_eq!(data_keys.len(), 3);
    for k in data_keys {
        assert_eq!(keys(k), ["CiphertextBlob", "Plaintext"].map(String::from).into());
        assert_eq!(unb64(&k["Plaintext"]).len(), 16);
    }

    let eb = c.call(
        "EncryptBatch",
        json!({"KeyId": id, "Items": [
            {"Plaintext": b64(b"one"), "EncryptionContext": ctx},
            {"Plaintext": ""},
            {"Plaintext": b64(b"three")},
        ]}),
    );
    assert_eq!(eb["KeyId"], arn.as_str());
    let blobs = eb["CiphertextBlobs"].as_array().unwrap();
    assert_eq!(blobs.len(), 3);
    assert_eq!(keys(&blobs[0]), ["CiphertextBlob"].map(String::from).into());
    assert_eq!(blobs[1]["Error"]["Code"], "ValidationException");
    assert!(blobs[1]["Error"]["Message"].as_str().unwrap().contains("plaintext"));

    let mut tampered = unb64(&blobs[2]["CiphertextBlob"]);
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let db = c.call(
        "DecryptBatch",
        json!({"Items": [
            {"CiphertextBlob": blobs[0]["CiphertextBlob"], "EncryptionContext": ctx},
            {"CiphertextBlob": data_keys[1]["CiphertextBlob"], "EncryptionContext": ctx},
            {"CiphertextBlob": b64(&tampered)},
            {"CiphertextBlob": blobs[2]["CiphertextBlob"]},
        ], "Execution": "PARALLEL"}),
    );
    let results = db["Results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(unb64(&results[0]["Plaintext"]), b"one");
    assert_eq!(results[0]["KeyId"], arn.as_str());
    assert_eq!(results[0]["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    assert_eq!(unb64(&results[1]["Plaintext"]), unb64(&data_keys[1]["Plaintext"]));
    assert_eq!(
        results[2],
        json!({"Error": {"Code": "InvalidCiphertextException", "Message": Error::InvalidCiphertext.message()}})
    );
    assert_eq!(unb64(&results[3]["Plaintext"]), b"three");

    let rb = c.call(
        "ReEncryptBatch",
        json!({"DestinationKeyId": arn2, "Items": [
            {"CiphertextBlob": blobs[0]["CiphertextBlob"], "SourceEncryptionContext": ctx, "DestinationEncryptionContext": {"n": "1"}},
            {"CiphertextBlob": blobs[0]["CiphertextBlob"]},
        ]}),
    );
    let results = rb["Results"].as_array().unwrap();
    assert_eq!(results[0]["KeyId"], arn2.as_str());
    assert_eq!(results[0]["SourceKeyId"], arn.as_str());
    assert_eq!(c.decrypt(&results[0]["CiphertextBlob"], json!({"n": "1"})), b"one");
    assert_eq!(results[1]["Error"]["Code"], "InvalidCiphertextException");

    // Deletion.
    assert_eq!(c.call("DeleteAlias", json!({"AliasName": "alias/json"})), json!({}));
    assert_eq!(c.call("ListAliases", json!({})), json!({"Aliases": [], "Truncated": false}));
    let scheduled = c.call("ScheduleKeyDeletion", json!({"KeyId": id2, "PendingWindowInDays": 7}));
    assert_eq!(scheduled["KeyId"], arn2.as_str());
    assert_eq!(scheduled["KeyState"], "PendingDeletion");
    assert_eq!(scheduled["PendingWindowInDays"], 7);
    assert!(scheduled["DeletionDate"].is_number());
    let described = c.call("DescribeKey", json!({"KeyId": id2}));
    assert!(described["KeyMetadata"]["DeletionDate"].is_number());
    // AWS shows the window only in state PendingReplicaDeletion.
    assert!(described["KeyMetadata"].get("PendingDeletionWindowInDays").is_none());
    assert_eq!(c.call("CancelKeyDeletion", json!({"KeyId": id2})), json!({"KeyId": arn2}));
    assert_eq!(c.call("DescribeKey", json!({"KeyId": id2}))["KeyMetadata"]["KeyState"], "Disabled");

    let all: BTreeSet<&str> = JSON_OPERATIONS.iter().copied().collect();
    assert_eq!(all.len(), JSON_OPERATIONS.len(), "no duplicates");
    assert_eq!(c.seen, all, "every operation was called successfully");
}

#[test]
fn request_errors() {
    let mut c = Client::new();
    let (id, _) = c.new_key();

    // Unknown operations.
    let e = c.err("Frobnicate", b"{}");
    assert_eq!(e.name(), "UnsupportedOperationException");
    assert!(e.message().contains("Unknown operation"), "{e}");
    let e = c.err("Sign", b"{}");
    assert_eq!(e.name(), "UnsupportedOperationException");
    assert!(e.message().contains("Sign is not supported"), "{e}");
    assert_eq!(c.err("TrentService.Encrypt", b"{}").name(), "UnsupportedOperationException");
    assert_eq!(c.err("encrypt", b"{}").name(), "UnsupportedOperationException");
    let huge = "X".repeat(100_000);
    assert!(c.err(&huge, b"{}").message().len() < 1000);

    // Bodies that are not JSON, or not an object.
    for bad in [&b"{"[..], b"{\"KeyId\":", b"not json", b"[1,2]", b"null", b"\"x\"", b"{} trailing", b"\xff\xfe", b" "]
    {
        let e = c.err("DescribeKey", bad);
        assert_eq!(e.name(), "ValidationException", "{:?}", String::from_utf8_lossy(bad));
        assert!(e.message().starts_with("SerializationException:"), "{e}");
    }

    // Members of the wrong type.
    for (op, body) in [
        ("DescribeKey", json!({"KeyId": 5})),
        ("ListKeys", json!({"Limit": "ten"})),
        ("ListKeys", json!({"Limit": 1.5})),
        ("CreateKey", json!({"Tags": {"TagKey": "a"}})),
        ("CreateKey", json!({"BypassPolicyLockoutSafetyCheck": "yes"})),
        ("Encrypt", json!({"KeyId": id, "Plaintext": [1, 2]})),
        ("Encrypt", json!({"KeyId": id, "Plaintext": "aGk", "EncryptionContext": {"a": 1}})),
        ("Decrypt", json!({"CiphertextBlob": 12})),
        ("GenerateDataKeys", json!({"KeyId": id, "Count": -3, "KeySpec": "AES_256"})),
    ] {
        let e = c.err_json(op, body.clone());
        assert_eq!(e.name(), "ValidationException", "{op} {body}: {e}");
        assert!(e.message().starts_with("SerializationException:"), "{e}");
    }

    // Values outside the model's constraints: AWS's ValidationException, every failure listed
    // in model order. (These were SerializationExceptions, an unknown enum value cut off
    // mid-word, before the table of shapes.)
    let key_specs = "RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, \
                     SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, \
                     ECC_NIST_EDWARDS25519";
    let must = |what: &str| format!("failed to satisfy constraint: Member must {what}");
    for (op, body, message) in [
        (
            "CreateKey",
            json!({"KeySpec": "NotSupportedKeySpec"}),
            format!(
                "1 validation error detected: Value 'NotSupportedKeySpec' at 'keySpec' {}",
                must(&format!("satisfy enum value set: [{key_specs}]"))
            ),
        ),
        (
            "ListKeys",
            json!({"Limit": -1}),
            format!(
                "1 validation error detected: Value '-1' at 'limit' {}",
                must("have value greater than or equal to 1")
            ),
        ),
        (
            "CreateKey",
            json!({"Tags": [{"TagKey": "a"}]}),
            format!("1 validation error detected: Value null at 'tags.1.member.tagValue' {}", must("not be null")),
        ),
        (
            "GenerateDataKeys",
            json!({"KeyId": id, "Count": 1, "Execution": "SIDEWAYS"}),
            format!(
                "1 validation error detected: Value 'SIDEWAYS' at 'execution' {}",
                must("satisfy enum value set: [PARALLEL, SERIAL]")
            ),
        ),
        (
            "EncryptBatch",
            json!({"KeyId": id, "Items": [{"EncryptionContext": {}}]}),
            format!("1 validation error detected: Value null at 'items.1.member.plaintext' {}", must("not be null")),
        ),
        (
            "DecryptBatch",
            json!({"Items": [{"CiphertextBlob": null}]}),
            format!(
                "1 validation error detected: Value null at 'items.1.member.ciphertextBlob' {}",
                must("not be null")
            ),
        ),
        (
            "GenerateDataKey",
            json!({"NumberOfBytes": 0, "KeySpec": "AES_512", "KeyId": ""}),
            format!(
                "3 validation errors detected: Value '' at 'keyId' {}; Value '0' at 'numberOfBytes' {}; Value 'AES_512' \
                 at 'keySpec' {}",
                must("have length greater than or equal to 1"),
                must("have value greater than or equal to 1"),
                must("satisfy enum value set: [AES_256, AES_128]")
            ),
        ),
        (
            "Encrypt",
            json!({"KeyId": id, "Plaintext": b64(&[0; 4097])}),
            format!(
                "1 validation error detected: Value at 'plaintext' {}",
                must("have length less than or equal to 4096")
            ),
        ),
        (
            "CreateAlias",
            json!({"AliasName": "alias/no spaces", "TargetKeyId": id}),
            format!(
                "1 validation error detected: Value 'alias/no spaces' at 'aliasName' {}",
                must("satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
            ),
        ),
    ] {
        let e = c.err_json(op, body.clone());
        assert_eq!(e.name(), "ValidationException", "{op} {body}: {e}");
        assert_eq!(e.message(), message, "{op} {body}");
    }
    // A duplicated member.
    let e = c.err("DescribeKey", format!(r#"{{"KeyId":"{id}","KeyId":"{id}"}}"#).as_bytes());
    assert_eq!(e.name(), "ValidationException");

    // A blob that is not base64: the message does not echo its bytes.
    let e = c.err_json("Encrypt", json!({"KeyId": id, "Plaintext": "sec#ret"}));
    assert_eq!(e.name(), "ValidationException");
    assert!(e.message().contains("not valid base64"), "{e}");
    assert!(!e.message().contains("35") && !e.message().contains('#'), "{e}");

    // Missing (or null) required members, in AWS's words.
    let e = c.err_json("DescribeKey", json!({}));
    assert_eq!(e.name(), "ValidationException");
    assert_eq!(
        e.message(),
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(c.err("DescribeKey", b"").message(), e.message());
    assert_eq!(c.err_json("DescribeKey", json!({"KeyId": null})).message(), e.message());
    let e = c.err_json("Encrypt", json!({"EncryptionContext": {}}));
    assert_eq!(e.name(), "ValidationException");
    assert!(e.message().starts_with("2 validation errors detected: Value null at 'keyId'"), "{e}");
    assert!(e.message().contains("'plaintext'"), "{e}");
    for (op, body, field) in [
        ("UpdateKeyDescription", json!({"KeyId": id}), "description"),
        ("TagResource", json!({"KeyId": id}), "tags"),
        ("UntagResource", json!({"KeyId": id}), "tagKeys"),
        ("CreateAlias", json!({"AliasName": "alias/x"}), "targetKeyId"),
        ("DeleteAlias", json!({}), "aliasName"),
        ("ReEncrypt", json!({"CiphertextBlob": "AAAA"}), "destinationKeyId"),
        ("GenerateDataKey", json!({"KeySpec": "AES_256"}), "keyId"),
        ("GenerateDataKeys", json!({"KeyId": id, "KeySpec": "AES_256"}), "count"),
        ("EncryptBatch", json!({"KeyId": id}), "items"),
        ("DecryptBatch", json!({}), "items"),
        ("ReEncryptBatch", json!({"Items": []}), "destinationKeyId"),
    ] {
        let e = c.err_json(op, body);
        assert_eq!(e.name(), "ValidationException", "{op}: {e}");
        assert!(e.message().contains(&format!("Value null at '{field}'")), "{op}: {e}");
    }
    // GenerateRandom's NumberOfBytes is optional in the model; the engine requires it.
    assert_eq!(c.err("GenerateRandom", b"{}").name(), "ValidationException");

    // Real errors from the engine come through unchanged.
    let missing = "1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_eq!(c.err_json("DescribeKey", json!({"KeyId": missing})).name(), "NotFoundException");
    assert_eq!(c.err_json("Encrypt", json!({"KeyId": missing, "Plaintext": "aGk="})).name(), "NotFoundException");
    assert_eq!(c.err_json("Decrypt", json!({"CiphertextBlob": b64(b"garbage")})).name(), "InvalidCiphertextException");
    assert_eq!(c.err_json("GenerateDataKeys", json!({"KeyId": missing, "Count": 1})).name(), "ValidationException");
    assert_eq!(
        c.err_json("GenerateDataKeys", json!({"KeyId": missing, "Count": 1, "KeySpec": "AES_256"})).name(),
        "NotFoundException"
    );
    assert_eq!(c.err_json("ListKeys", json!({"Limit": 0})).name(), "ValidationException");
    let e = c.err_json("CreateAlias", json!({"AliasName": "alias/aws/x", "TargetKeyId": id}));
    assert_eq!(e.name(), "InvalidAliasNameException");
    let e = c.err_json("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"x"), "DryRun": true}));
    assert_eq!(e.name(), "DryRunOperationException");

    // Members this engine refuses rather than ignores.
    for (op, body) in [
        ("Decrypt", json!({"CiphertextBlob": "AAAA", "Recipient": {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256"}})),
        ("GenerateDataKey", json!({"KeyId": id, "KeySpec": "AES_256", "Recipient": {}})),
        ("GenerateRandom", json!({"NumberOfBytes": 8, "Recipient": {}})),
        ("Decrypt", json!({"CiphertextBlob": "AAAA", "DryRun": true, "DryRunModifiers": ["IGNORE_CIPHERTEXT"]})),
        ("CreateKey", json!({"XksKeyId": "abc"})),
    ] {
        assert_eq!(c.err_json(op, body).name(), "UnsupportedOperationException", "{op}");
    }
    // ... but null counts as absent.
    c.call("GenerateRandom", json!({"NumberOfBytes": 8, "Recipient": null}));

    // Members set to null read as absent.
    let enc =
        c.call("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"n"), "EncryptionContext": null, "GrantTokens": null}));
    assert_eq!(c.decrypt(&enc["CiphertextBlob"], json!({})), b"n");
    c.call("ListKeys", json!({"Limit": null, "Marker": null}));

    // A plaintext whose base64 is written with escapes.
    let enc = c.raw("Encrypt", format!(r#"{{"KeyId":"{id}","Plaintext":"\/\/\/\/"}}"#).as_bytes());
    assert_eq!(c.decrypt(&enc["CiphertextBlob"], json!({})), [0xff; 3]);

    // Unknown members are ignored.
    let out = c.call("DescribeKey", json!({"KeyId": id, "Unknown": {"deep": [1, 2, {"x": null}]}, "Other": 1}));
    assert_eq!(out["KeyMetadata"]["KeyId"], id.as_str());
}

#[test]
fn json_agrees_with_the_typed_methods() {
    let c = Client::new();
    let (kms, me) = (&c.kms, &c.me);
    let key = kms.create_key(me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let ctx: EncryptionContext = [("purpose".to_owned(), "test".to_owned())].into();
    let call =
        |op: &str, body: Value| -> Value { json_of(&kms.call_json(me, op, body.to_string().as_bytes()).unwrap()) };

    // Encrypt: the same members and values; each side's ciphertext decrypts on the other.
    let typed = kms.encrypt(me, &EncryptRequest::new(&key, b"agree".to_vec()).with_context(ctx.clone())).unwrap();
    let wire = call("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"agree"), "EncryptionContext": ctx}));
    let typed_v = to_value(&typed);
    assert_eq!(keys(&wire), keys(&typed_v));
    assert_eq!(wire["KeyId"], typed_v["KeyId"]);
    assert_eq!(wire["EncryptionAlgorithm"], typed_v["EncryptionAlgorithm"]);
    let from_wire =
        kms.decrypt(me, &DecryptRequest::new(unb64(&wire["CiphertextBlob"])).with_context(ctx.clone())).unwrap();
    assert_eq!(from_wire.plaintext.expose_secret(), b"agree");

    // Decrypt: deterministic, so the bodies are equal.
    let blob = b64(&typed.ciphertext_blob);
    let typed_dec =
        kms.decrypt(me, &DecryptRequest::new(typed.ciphertext_blob.clone()).with_context(ctx.clone())).unwrap();
    let wire = call("Decrypt", json!({"CiphertextBlob": blob, "EncryptionContext": ctx}));
    assert_eq!(wire, json_of(&typed_dec.to_json().unwrap()));
    assert_eq!(unb64(&wire["Plaintext"]), b"agree");

    // GenerateDataKey: the same members; the wire's data key unwraps to its plaintext.
    let req = GenerateDataKeyRequest { encryption_context: ctx.clone(), ..GenerateDataKeyRequest::aes_256(&key) };
    let typed = kms.generate_data_key(me, &req).unwrap();
    let wire = call("GenerateDataKey", json!({"KeyId": key, "KeySpec": "AES_256", "EncryptionContext": ctx}));
    let typed_v = json_of(&typed.to_json().unwrap());
    assert_eq!(keys(&wire), keys(&typed_v));
    assert_eq!(wire["KeyId"], typed_v["KeyId"]);
    assert_eq!(wire["KeyMaterialId"], typed_v["KeyMaterialId"]);
    assert_eq!(unb64(&typed_v["Plaintext"]), typed.plaintext.expose_secret());
    let unwrapped =
        kms.decrypt(me, &DecryptRequest::new(unb64(&wire["CiphertextBlob"])).with_context(ctx.clone())).unwrap();
    assert_eq!(unwrapped.plaintext.expose_secret(), unb64(&wire["Plaintext"]).as_slice());
    assert_eq!(typed.plaintext.len(), 32);

    // A body with plaintext is allocated once, at its size.
    let out = kms
        .call_json(me, "Decrypt", json!({"CiphertextBlob": blob, "EncryptionContext": ctx}).to_string().as_bytes())
        .unwrap();
    assert_eq!(out.len(), out.capacity());

    // DecryptBatch's results are Decrypt's outputs; ReEncryptBatch's, ReEncrypt's members.
    let item = DecryptItem { ciphertext_blob: typed.ciphertext_blob.clone(), encryption_context: ctx.clone() };
    let typed = kms.decrypt_batch(me, &DecryptBatchRequest { items: vec![item], ..Default::default() }).unwrap();
    let wire = call(
        "DecryptBatch",
        json!({"Items": [{"CiphertextBlob": b64(&typed_dk_blob(&req, kms, me)), "EncryptionContext": ctx}]}),
    );
    assert_eq!(keys(&wire["Results"][0]), keys(&json_of(&typed[0].as_ref().unwrap().to_json().unwrap())));
    let wire =
        call("ReEncrypt", json!({"CiphertextBlob": blob, "SourceEncryptionContext": ctx, "DestinationKeyId": key}));
    let batch = call(
        "ReEncryptBatch",
        json!({"DestinationKeyId": key, "Items": [{"CiphertextBlob": blob, "SourceEncryptionContext": ctx}]}),
    );
    assert_eq!(keys(&batch["Results"][0]), keys(&wire));
}

fn typed_dk_blob(req: &GenerateDataKeyRequest, kms: &Kms, me: &Caller) -> Vec<u8> {
    kms.generate_data_key_without_plaintext(me, req).unwrap().ciphertext_blob
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

fn json_of(body: &trent::secret::SecretVec) -> Value {
    serde_json::from_slice(body.expose_secret()).unwrap()
}
