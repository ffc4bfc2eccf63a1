package trent

/*
#include <stdlib.h>
#include "trent.h"
*/
import "C"

import (
	"runtime"
	"strconv"
	"time"
	"unsafe"
)

// The management operations: CreateKey with options, descriptions, listings, tags, rotation
// status, ReEncrypt in bulk, each through its typed C function; metadata and listing pages
// are read field by field with trent.h's accessors (not hot paths: a crossing per field).

// cPairs builds trent_tag arrays as trent_context_entry arrays: the layouts must agree.
var _ = [1]struct{}{}[unsafe.Sizeof(C.trent_tag{})-unsafe.Sizeof(C.trent_context_entry{})+
	unsafe.Offsetof(C.trent_tag{}.value_len)-unsafe.Offsetof(C.trent_context_entry{}.value_len)]

// KeyMetadata describes a KMS key, as DescribeKey and CreateKeyWithOptions return it.
type KeyMetadata struct {
	AWSAccountID string
	KeyID        string
	Arn          string
	CreationDate time.Time
	Enabled      bool
	Description  string
	// KeyUsage is "ENCRYPT_DECRYPT", …; KeyState "Enabled", "Disabled", "PendingDeletion", …
	KeyUsage string
	KeyState string
	// DeletionDate is set when a deletion is scheduled; PendingDeletionWindowInDays only in
	// state PendingReplicaDeletion, as AWS.
	DeletionDate                *time.Time
	PendingDeletionWindowInDays int
	Origin                      string
	KeyManager                  string
	KeySpec                     string
	MultiRegion                 bool
	CurrentKeyMaterialID        string
}

// Tag is a resource tag.
type Tag struct {
	TagKey   string
	TagValue string
}

// CreateKeyOptions are CreateKey's options; the zero value makes a symmetric encryption key
// with AWS's default key policy.
type CreateKeyOptions struct {
	Description string
	// KeySpec ("SYMMETRIC_DEFAULT") and KeyUsage ("ENCRYPT_DECRYPT"): "" for the default.
	KeySpec  string
	KeyUsage string
	// Policy is the key policy (JSON); "" for the default.
	Policy      string
	Tags        []Tag
	MultiRegion bool
}

func millis(ms C.int64_t) time.Time { return time.UnixMilli(int64(ms)).UTC() }

func goStr(s C.trent_str) string {
	if s.data == nil || s.len == 0 {
		return ""
	}
	return C.GoStringN(s.data, C.int(s.len))
}

// takeMetadata reads and frees key metadata.
func takeMetadata(m *C.trent_key_metadata) *KeyMetadata {
	defer C.trent_key_metadata_free(m)
	md := &KeyMetadata{
		AWSAccountID:                goStr(C.trent_key_metadata_aws_account_id(m)),
		KeyID:                       goStr(C.trent_key_metadata_key_id(m)),
		Arn:                         goStr(C.trent_key_metadata_arn(m)),
		CreationDate:                millis(C.trent_key_metadata_creation_date(m)),
		Enabled:                     bool(C.trent_key_metadata_enabled(m)),
		Description:                 goStr(C.trent_key_metadata_description(m)),
		KeyUsage:                    goStr(C.trent_key_metadata_key_usage(m)),
		KeyState:                    goStr(C.trent_key_metadata_key_state(m)),
		PendingDeletionWindowInDays: int(C.trent_key_metadata_pending_deletion_window_in_days(m)),
		Origin:                      goStr(C.trent_key_metadata_origin(m)),
		KeyManager:                  goStr(C.trent_key_metadata_key_manager(m)),
		KeySpec:                     goStr(C.trent_key_metadata_key_spec(m)),
		MultiRegion:                 bool(C.trent_key_metadata_multi_region(m)),
		CurrentKeyMaterialID:        goStr(C.trent_key_metadata_current_key_material_id(m)),
	}
	if d := C.trent_key_metadata_deletion_date(m); d != 0 {
		t := millis(d)
		md.DeletionDate = &t
	}
	return md
}

// tagMap is the tags as a map (a repeated key keeps its last value).
func tagMap(tags []Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.TagKey] = t.TagValue
	}
	return m
}

// CreateKeyWithOptions creates a key with every option of CreateKey and returns its metadata.
func (k *KMS) CreateKeyWithOptions(opts CreateKeyOptions) (*KeyMetadata, error) {
	tags := tagMap(opts.Tags)
	tp := cPairs(tags)
	defer C.free(tp)
	return callResult(k, takeMetadata, func(kp *C.trent_kms, cp *C.trent_caller, md **C.trent_key_metadata, d **C.trent_error) C.trent_result {
		return C.trent_kms_create_key_with_options(kp, cp,
			optStr(opts.Description), C.size_t(len(opts.Description)),
			optStr(opts.KeySpec), C.size_t(len(opts.KeySpec)),
			optStr(opts.KeyUsage), C.size_t(len(opts.KeyUsage)),
			optStr(opts.Policy), C.size_t(len(opts.Policy)),
			(*C.trent_tag)(tp), C.size_t(len(tags)), C.bool(opts.MultiRegion), md, d)
	})
}

// DescribeKey returns the key's metadata (id, ARN, alias name or alias ARN).
func (k *KMS) DescribeKey(keyID string) (*KeyMetadata, error) {
	return callResult(k, takeMetadata, func(kp *C.trent_kms, cp *C.trent_caller, md **C.trent_key_metadata, d **C.trent_error) C.trent_result {
		return C.trent_kms_describe_key(kp, cp, strPtr(keyID), C.size_t(len(keyID)), md, d)
	})
}

// Page asks for one page of a listing: at most Limit entries (0 for the default) after
// Marker (the NextMarker of the previous page; "" for the first).
type Page struct {
	Limit  int
	Marker string
}

// KeyListEntry is one key of ListKeys.
type KeyListEntry struct {
	KeyID  string
	KeyArn string
}

// AliasListEntry is one alias of ListAliases.
type AliasListEntry struct {
	AliasName       string
	AliasArn        string
	TargetKeyID     string
	CreationDate    *time.Time
	LastUpdatedDate *time.Time
}

// RotationsListEntry is one rotation of ListKeyRotations.
type RotationsListEntry struct {
	KeyID            string
	KeyMaterialID    string
	KeyMaterialState string
	RotationDate     *time.Time
	// RotationType is "AUTOMATIC" or "ON_DEMAND".
	RotationType string
}

// The listings of list.
const (
	listKeys = iota
	listAliases
	listResourceTags
	listKeyRotations
)

// list runs one listing and returns its entries, each made by entry from its row, and the
// next page's marker.
func list[T any](k *KMS, kind int, keyID string, page Page, entry func(r *row) T) ([]T, string, error) {
	var l *C.trent_list
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		limit := C.uint32_t(clampU32(page.Limit))
		mp, ml := optStr(page.Marker), C.size_t(len(page.Marker))
		kidp, kidl := optStr(keyID), C.size_t(len(keyID))
		switch kind {
		case listKeys:
			rc = C.trent_kms_list_keys(kp, cp, limit, mp, ml, &l, &d)
		case listAliases:
			rc = C.trent_kms_list_aliases(kp, cp, kidp, kidl, limit, mp, ml, &l, &d)
		case listResourceTags:
			rc = C.trent_kms_list_resource_tags(kp, cp, kidp, kidl, limit, mp, ml, &l, &d)
		default:
			rc = C.trent_kms_list_key_rotations(kp, cp, kidp, kidl, limit, mp, ml, &l, &d)
		}
		return rc, d
	})
	if err != nil {
		return nil, "", err
	}
	defer C.trent_list_free(l)
	var res []T
	for i := range int(C.trent_list_len(l)) {
		r := row{l: l, i: C.size_t(i)}
		e := entry(&r)
		if r.err != nil {
			return nil, "", r.err
		}
		res = append(res, e)
	}
	return res, goStr(C.trent_list_next_marker(l)), nil
}

// row is one row of a listing, read field by field (a crossing per field: listings are not
// hot paths). The first failure is kept in err; the fields after it read as absent.
type row struct {
	l   *C.trent_list
	i   C.size_t
	err error
}

// field is the named field's value; nil when the row has none.
func (r *row) field(name string) *string {
	if r.err != nil {
		return nil
	}
	var v C.trent_str
	var detail *C.trent_error
	rc := C.trent_list_get(r.l, r.i, strPtr(name), C.size_t(len(name)), &v, &detail)
	if r.err = check(rc, detail); r.err != nil || v.data == nil {
		return nil
	}
	s := C.GoStringN(v.data, C.int(v.len))
	return &s
}

// str is the named field's text ("" when absent).
func (r *row) str(name string) string {
	if p := r.field(name); p != nil {
		return *p
	}
	return ""
}

// date is the named field's date (decimal milliseconds since the epoch); nil when absent.
func (r *row) date(name string) *time.Time {
	p := r.field(name)
	if p == nil || *p == "" {
		return nil
	}
	ms, err := strconv.ParseInt(*p, 10, 64)
	if err != nil {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// ListKeys lists the account's keys; nextMarker is "" on the last page.
func (k *KMS) ListKeys(page Page) (keys []KeyListEntry, nextMarker string, err error) {
	return list(k, listKeys, "", page, func(r *row) KeyListEntry {
		return KeyListEntry{KeyID: r.str("KeyId"), KeyArn: r.str("KeyArn")}
	})
}

// ListAliases lists the aliases, of one key when keyID is not "".
func (k *KMS) ListAliases(keyID string, page Page) (aliases []AliasListEntry, nextMarker string, err error) {
	return list(k, listAliases, keyID, page, func(r *row) AliasListEntry {
		return AliasListEntry{AliasName: r.str("AliasName"), AliasArn: r.str("AliasArn"), TargetKeyID: r.str("TargetKeyId"),
			CreationDate: r.date("CreationDate"), LastUpdatedDate: r.date("LastUpdatedDate")}
	})
}

// ListResourceTags lists the key's tags.
func (k *KMS) ListResourceTags(keyID string, page Page) (tags []Tag, nextMarker string, err error) {
	return list(k, listResourceTags, keyID, page, func(r *row) Tag {
		return Tag{TagKey: r.str("TagKey"), TagValue: r.str("TagValue")}
	})
}

// ListKeyRotations lists the key's completed rotations, oldest first.
func (k *KMS) ListKeyRotations(keyID string, page Page) (rotations []RotationsListEntry, nextMarker string, err error) {
	return list(k, listKeyRotations, keyID, page, func(r *row) RotationsListEntry {
		return RotationsListEntry{KeyID: r.str("KeyId"), KeyMaterialID: r.str("KeyMaterialId"),
			KeyMaterialState: r.str("KeyMaterialState"), RotationDate: r.date("RotationDate"), RotationType: r.str("RotationType")}
	})
}

// TagResource adds tags to the key, replacing the values of tags it already has.
func (k *KMS) TagResource(keyID string, tags map[string]string) error {
	tp := cPairs(tags)
	defer C.free(tp)
	return k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_tag_resource(kp, cp, strPtr(keyID), C.size_t(len(keyID)), (*C.trent_tag)(tp), C.size_t(len(tags)), &d)
		return rc, d
	})
}

// UntagResource removes tags (by key) from the key; keys it does not have are ignored.
func (k *KMS) UntagResource(keyID string, tagKeys []string) error {
	// The keys as trent_str in C memory, pointing at their bytes after the array.
	var mem unsafe.Pointer
	if n := len(tagKeys); n > 0 {
		size := 0
		for _, t := range tagKeys {
			size += len(t)
		}
		es := unsafe.Sizeof(C.trent_str{})
		mem = C.malloc(C.size_t(uintptr(n)*es + uintptr(size) + 1))
		if mem == nil {
			panic("trent: out of memory")
		}
		strs := unsafe.Slice((*C.trent_str)(mem), n)
		buf := unsafe.Slice((*byte)(unsafe.Add(mem, uintptr(n)*es)), size+1)
		off := 0
		for i, t := range tagKeys {
			strs[i].data, strs[i].len = (*C.char)(unsafe.Pointer(&buf[off])), C.size_t(len(t))
			off += copy(buf[off:], t)
		}
	}
	defer C.free(mem)
	return k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_untag_resource(kp, cp, strPtr(keyID), C.size_t(len(keyID)), (*C.trent_str)(mem), C.size_t(len(tagKeys)), &d)
		return rc, d
	})
}

// RotationStatus is GetKeyRotationStatus's answer.
type RotationStatus struct {
	KeyRotationEnabled bool
	// RotationPeriodInDays is 0 when rotation is off.
	RotationPeriodInDays int
	// NextRotationDate is nil when no automatic rotation is due.
	NextRotationDate *time.Time
}

// GetKeyRotationStatus tells whether automatic rotation is on, its period and next date.
func (k *KMS) GetKeyRotationStatus(keyID string) (*RotationStatus, error) {
	var enabled C.bool
	var period C.uint32_t
	var next C.int64_t
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_get_key_rotation_status(kp, cp, strPtr(keyID), C.size_t(len(keyID)), &enabled, &period, &next, &d)
		return rc, d
	})
	if err != nil {
		return nil, err
	}
	st := &RotationStatus{KeyRotationEnabled: bool(enabled), RotationPeriodInDays: int(period)}
	if next != 0 {
		t := millis(next)
		st.NextRotationDate = &t
	}
	return st, nil
}

// ReEncryptItem is one item of ReEncryptBatch.
type ReEncryptItem struct {
	CiphertextBlob     []byte
	SourceContext      map[string]string
	DestinationContext map[string]string
}

// ReEncryptBatch re-encrypts every blob (of any source keys) under destinationKeyID in one
// call, spread over the engine's thread pool; each result has its new blob or its error. The
// plaintexts never leave the engine. It fails as a whole when the destination key cannot be
// used.
func (k *KMS) ReEncryptBatch(destinationKeyID string, items []ReEncryptItem) ([]BatchResult, error) {
	// Lay the items out as Encrypt batch items (source context) plus destination contexts,
	// all pinned, then build trent_re_encrypt_item from them.
	src := make([]BatchItem, 2*len(items))
	for i, it := range items {
		src[2*i] = BatchItem{Data: it.CiphertextBlob, Context: it.SourceContext}
		src[2*i+1] = BatchItem{Context: it.DestinationContext}
	}
	return k.callBatch(src, len(items), func(kp *C.trent_kms, cp *C.trent_caller, p *pinnedItems, r **C.trent_batch_results, d **C.trent_error) C.trent_result {
		re := make([]C.trent_re_encrypt_item, len(items))
		for i := range re {
			s, d := &p.items[2*i], &p.items[2*i+1]
			re[i].ciphertext, re[i].ciphertext_len = s.data, s.data_len
			re[i].source_context, re[i].source_context_len = s.context, s.context_len
			re[i].destination_context, re[i].destination_context_len = d.context, d.context_len
		}
		var rep *C.trent_re_encrypt_item
		if len(re) > 0 {
			rep = &re[0]
		}
		rc := C.trent_kms_re_encrypt_batch(kp, cp, strPtr(destinationKeyID), C.size_t(len(destinationKeyID)), rep, C.size_t(len(re)), r, d)
		runtime.KeepAlive(re)
		return rc
	})
}
