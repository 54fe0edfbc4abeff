//! A threaded actor that fetches URLs with WASI 0.2's blocking
//! `wasi:http` (Ray's threaded actor calling `requests.get`). The host's
//! grants apply as for async actors: `--allow-net HOST:PORT`.

use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

wactor_guest::actor!("wactor-examples:threaded-fetch/threaded-fetch");

struct ThreadedFetch;

impl Guest for ThreadedFetch {
    fn fetch(url: String) -> Result<String, String> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(format!(
                "{url}: only http:// and https:// URLs can be fetched"
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let request = OutgoingRequest::new(Fields::new());
        request
            .set_method(&Method::Get)
            .and(request.set_scheme(Some(&scheme)))
            .and(request.set_authority(Some(authority)))
            .and(request.set_path_with_query(Some(path)))
            .map_err(|()| format!("{url}: not a valid request"))?;
        let pending = outgoing_handler::handle(request, None)
            .map_err(|e| format!("{url}: {}", describe(&e)))?;
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(e))) => return Err(format!("{url}: {}", describe(&e))),
            _ => return Err(format!("{url}: no response")),
        };
        let status = response.status();
        let body = response.consume().map_err(|()| format!("{url}: no body"))?;
        let stream = body
            .stream()
            .map_err(|()| format!("{url}: no body stream"))?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(format!("{url}: reading the body: {}", e.to_debug_string()));
                }
            }
        }
        drop(stream);
        let text = String::from_utf8(bytes).map_err(|_| format!("{url}: the body is not UTF-8"))?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(format!("{url}: status {status}: {text}"))
        }
    }
}

/// The host's reason where it gave one (e.g. an address not granted).
fn describe(error: &ErrorCode) -> String {
    match error {
        ErrorCode::InternalError(Some(reason)) => reason.clone(),
        other => format!("{other:?}"),
    }
}

export!(ThreadedFetch);
