//! `#[export]`, the attribute every exported function of `trent-ffi` carries: it turns an
//! ordinary `#[unsafe(no_mangle)] pub extern "C" fn` (whose signature cbindgen reads for
//! `trent.h`, unchanged) into its boundary wrapper, so the body holds only what the function
//! does.
//!
//! The generated code, for a function returning `trent_result`:
//!
//! - runs inside `ffi_boundary!` (trent-ffi's `boundary.rs`): a panic becomes
//!   `TRENT_RESULT_PANIC`, the body's `Err(Failure)` becomes its code, and its detail goes to
//!   the last parameter `err: *mut *mut trent_error` when there is one (a function without it
//!   gives no detail);
//! - first checks and converts every C argument, in parameter order, with the helpers of
//!   `boundary.rs` (a NULL or oversized argument fails before the body runs), rebinding it
//!   under the same name:
//!
//! | parameter(s) | in the body |
//! | --- | --- |
//! | `x: *const c_char, x_len: usize` | `&str` (`arg_str`); `#[optional]`: `Option<&str>`, NULL being `None` |
//! | `x: *const u8, x_len: usize` | `&[u8]` (`arg_bytes`); `#[packed]`: the packed encryption context |
//! | `x: *const trent_context_entry, x_len: usize` | the `EncryptionContext` (`arg_context`) |
//! | `x: *const T, x_len: usize` (any other `T`) | `&[T]` (`arg_array`) |
//! | `x: *mut T, x_cap: usize` (or `x_len`) | the caller's write-only `&mut [MaybeUninit<T>]` (`arg_out_array`; `c_char` as `u8`) |
//! | `x: *mut *mut T` | `Out<T>`, the new handle's out-parameter |
//! | `x_out: *mut T` | `OutValue<T>`; `#[optional]`: `Option<OutValue<T>>`, NULL being `None` |
//! | `x: *const H` / `x: *mut H` (a handle) | `&H::RustType` (`arg_ref`) / `&mut H::RustType` (`arg_mut`) |
//! | anything else (`u32`, `usize`, `bool`, …) | the value itself |
//!
//! A pair is a pointer followed by a `usize` whose name ends in `_len` or `_cap`; the length
//! stays in scope as a plain value. The body ends with its outputs written (`()`), or with a
//! `Result<(), Failure>` or the engine's `trent::Result<()>` (`boundary::Outcome`).
//!
//! A function returning anything else cannot fail but for a NULL argument or a panic: written
//! `#[export(or = VALUE)]`, its arguments are converted as above, the body gives the result,
//! and `VALUE` is returned instead when an argument is NULL or the body panics. A function
//! returning nothing (the `_free` functions) gets its arguments as they are, under
//! `ffi_boundary_infallible!`.
//!
//! `#[optional]` and `#[packed]` are read and removed from the parameters here; cbindgen does
//! not show parameter attributes in the header.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Error, Expr, FnArg, Ident, ItemFn, Pat, ReturnType, Token, Type};

/// See the crate documentation.
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = syn::parse_macro_input!(attr as Options);
    let func = syn::parse_macro_input!(item as ItemFn);
    expand(options, func).unwrap_or_else(Error::into_compile_error).into()
}

/// The attribute's arguments: nothing, or `or = VALUE`.
struct Options {
    or: Option<Expr>,
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Self { or: None });
        }
        let key: Ident = input.parse()?;
        if key != "or" {
            return Err(Error::new(key.span(), "expected `or = <value when an argument is NULL>`"));
        }
        input.parse::<Token![=]>()?;
        Ok(Self { or: Some(input.parse()?) })
    }
}

/// One parameter of the C signature, with the marks `#[optional]` and `#[packed]` taken off.
struct Param {
    name: Ident,
    ty: Type,
    optional: bool,
    packed: bool,
}

fn expand(options: Options, mut func: ItemFn) -> syn::Result<TokenStream2> {
    let params = take_params(&mut func)?;
    let body = &func.block;
    let returns_result = match &func.sig.output {
        ReturnType::Type(_, ty) => last_ident(ty).is_some_and(|i| i == "trent_result"),
        ReturnType::Default => false,
    };
    let wrapped = match (&options.or, returns_result, &func.sig.output) {
        (None, true, _) => {
            let (err, params) = match params.split_last() {
                Some((last, rest))
                    if last.name == "err" && pointee(&last.ty).is_some_and(|t| matches!(t, Type::Ptr(_))) =>
                {
                    (last.name.to_token_stream(), rest)
                }
                _ => (quote!(::std::ptr::null_mut()), &params[..]),
            };
            let lets = conversions(params)?;
            quote!(crate::boundary::ffi_boundary!(#err, { #(#lets)* crate::boundary::Outcome::into_result(#body) }))
        }
        (None, false, ReturnType::Default) => quote!(crate::boundary::ffi_boundary_infallible!((), #body)),
        (Some(or), _, ReturnType::Type(_, ty)) => {
            let lets = conversions(&params)?;
            quote!(crate::boundary::ffi_boundary_infallible!(#or, {
                let value = || -> ::std::result::Result<#ty, crate::error::Failure> { #(#lets)* Ok(#body) };
                value().unwrap_or_else(|_| #or)
            }))
        }
        _ => {
            return Err(Error::new(
                func.sig.span(),
                "#[export] needs `or = <value when an argument is NULL>` on a function returning neither \
                 `trent_result` nor nothing",
            ));
        }
    };
    func.block = syn::parse2(quote!({ #wrapped }))?;
    Ok(func.into_token_stream())
}

/// Reads the parameters, removing the marks `#[optional]` and `#[packed]` from the signature.
fn take_params(func: &mut ItemFn) -> syn::Result<Vec<Param>> {
    let mut params = Vec::new();
    for arg in &mut func.sig.inputs {
        let FnArg::Typed(arg) = arg else { return Err(Error::new(arg.span(), "#[export] is for free functions")) };
        let Pat::Ident(pat) = &*arg.pat else { return Err(Error::new(arg.pat.span(), "expected a parameter name")) };
        let (mut optional, mut packed) = (false, false);
        arg.attrs.retain(|a| {
            let mark = |name| a.path().is_ident(name);
            optional |= mark("optional");
            packed |= mark("packed");
            !mark("optional") && !mark("packed")
        });
        params.push(Param { name: pat.ident.clone(), ty: (*arg.ty).clone(), optional, packed });
    }
    Ok(params)
}

/// The `let` statements that check and convert the C arguments (see the crate documentation).
fn conversions(params: &[Param]) -> syn::Result<Vec<TokenStream2>> {
    let mut lets = Vec::new();
    let mut rest = params;
    while let Some((p, after)) = rest.split_first() {
        rest = after;
        let (name, text) = (&p.name, p.name.to_string());
        let Type::Ptr(ptr) = &p.ty else {
            if p.optional || p.packed {
                return Err(Error::new(name.span(), "#[optional] and #[packed] are for pointer parameters"));
            }
            continue;
        };
        let mutable = ptr.mutability.is_some();
        let elem = last_ident(&ptr.elem).map(|i| i.to_string()).unwrap_or_default();
        let len = after.first().filter(|l| {
            let l_name = l.name.to_string();
            last_ident(&l.ty).is_some_and(|t| t == "usize") && (l_name.ends_with("_len") || l_name.ends_with("_cap"))
        });
        let value = if let Some(len) = len {
            rest = &after[1..];
            let len = &len.name;
            match (mutable, elem.as_str()) {
                (false, "c_char") if p.optional => quote!(crate::boundary::arg_opt_str(#name, #len, #text)),
                (false, "c_char") => quote!(crate::boundary::arg_str(#name, #len, #text)),
                (false, "u8") if p.packed => quote!(crate::context::arg_packed_context(#name, #len, #text)),
                (false, "u8") => quote!(crate::boundary::arg_bytes(#name, #len, #text)),
                (false, "trent_context_entry") => quote!(crate::ops::arg_context(#name, #len, #text)),
                (false, _) => quote!(crate::boundary::arg_array(#name, #len, #text)),
                (true, "c_char") => quote!(crate::boundary::arg_out_array(#name.cast::<u8>(), #len, #text)),
                (true, _) => quote!(crate::boundary::arg_out_array(#name, #len, #text)),
            }
        } else if mutable && matches!(&*ptr.elem, Type::Ptr(inner) if inner.mutability.is_some()) {
            quote!(crate::boundary::Out::new(#name, #text))
        } else if mutable && text.ends_with("_out") {
            if p.optional {
                lets.push(quote! {
                    let #name = if #name.is_null() { None } else { Some(crate::boundary::OutValue::new(#name, #text)?) };
                });
                continue;
            }
            quote!(crate::boundary::OutValue::new(#name, #text))
        } else if mutable {
            quote!(crate::boundary::arg_mut(#name, #text))
        } else {
            quote!(crate::boundary::arg_ref(#name, #text))
        };
        if (p.optional && !(elem == "c_char" && len.is_some())) || (p.packed && !(elem == "u8" && len.is_some())) {
            return Err(Error::new(name.span(), "#[optional] is for text and `_out` values, #[packed] for bytes"));
        }
        lets.push(quote!(let #name = #value?;));
    }
    Ok(lets)
}

/// What a pointer type points to.
fn pointee(ty: &Type) -> Option<&Type> {
    if let Type::Ptr(p) = ty { Some(&p.elem) } else { None }
}

/// The last segment of a path type (`c_char` for `std::ffi::c_char`).
fn last_ident(ty: &Type) -> Option<&Ident> {
    if let Type::Path(p) = ty { p.path.segments.last().map(|s| &s.ident) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(options: TokenStream2, func: TokenStream2) -> syn::Result<String> {
        let options: Options = syn::parse2(options)?;
        Ok(expand(options, syn::parse2(func)?)?.to_string().split_whitespace().collect())
    }

    fn has(text: &str, piece: TokenStream2) -> bool {
        text.contains(&piece.to_string().split_whitespace().collect::<String>())
    }

    #[test]
    fn converts_every_argument_in_order_then_runs_the_body_in_the_boundary() {
        let text = expanded(
            quote!(),
            quote! {
                #[unsafe(no_mangle)]
                pub extern "C" fn f(
                    kms: *const trent_kms,
                    #[optional] key_id: *const c_char,
                    key_id_len: usize,
                    #[packed] context: *const u8,
                    context_len: usize,
                    out: *mut u8,
                    out_cap: usize,
                    n: u32,
                    handle_out: *mut *mut trent_buffer,
                    #[optional] count_out: *mut u64,
                    err: *mut *mut trent_error,
                ) -> trent_result {
                    body()
                }
            },
        )
        .expect("expands");
        let lets = [
            quote!(let kms = crate::boundary::arg_ref(kms, "kms")?;),
            quote!(let key_id = crate::boundary::arg_opt_str(key_id, key_id_len, "key_id")?;),
            quote!(let context = crate::context::arg_packed_context(context, context_len, "context")?;),
            quote!(let out = crate::boundary::arg_out_array(out, out_cap, "out")?;),
            quote!(let handle_out = crate::boundary::Out::new(handle_out, "handle_out")?;),
            quote!(let count_out = if count_out.is_null() { None }),
            quote!(crate::boundary::Outcome::into_result({ body() })),
        ];
        let mut at = 0;
        for piece in lets {
            let found = text[at..].find(&piece.to_string().split_whitespace().collect::<String>());
            at += found.unwrap_or_else(|| panic!("{piece} missing or out of order in {text}"));
        }
        assert!(text.contains("crate::boundary::ffi_boundary!(err,{"), "{text}");
        assert!(!text.contains("letn="), "values pass through: {text}");
        assert!(!text.contains("#[optional]") && !text.contains("#[packed]"), "marks removed: {text}");
        assert!(has(&text, quote!(#[unsafe(no_mangle)])));
    }

    #[test]
    fn infallible_functions_return_their_fallback() {
        let text = expanded(
            quote!(or = 0),
            quote!(
                pub extern "C" fn len(list: *const trent_list) -> usize {
                    list.rows.len()
                }
            ),
        )
        .expect("expands");
        assert!(text.contains("crate::boundary::ffi_boundary_infallible!(0,{"), "{text}");
        assert!(has(&text, quote!(value().unwrap_or_else(|_| 0))));
        let free = expanded(
            quote!(),
            quote!(
                pub extern "C" fn free(list: *mut trent_list) {
                    free_box(list)
                }
            ),
        )
        .expect("expands");
        assert!(!free.contains("arg_mut"), "a function returning nothing gets its raw arguments: {free}");
    }

    #[test]
    fn misuse_is_a_compile_error() {
        let no_fallback = expanded(
            quote!(),
            quote!(
                pub extern "C" fn len(list: *const trent_list) -> usize {
                    0
                }
            ),
        );
        assert!(no_fallback.expect_err("needs `or`").to_string().contains("needs `or = "));
        let bad_mark = expanded(
            quote!(),
            quote!(
                pub extern "C" fn f(#[packed] n: u32, err: *mut *mut trent_error) -> trent_result {
                    Ok(())
                }
            ),
        );
        assert!(bad_mark.expect_err("a mark on a value").to_string().contains("pointer parameters"));
        assert!(syn::parse2::<Options>(quote!(default = 0)).is_err());
    }
}
