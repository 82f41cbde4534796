//! Request parser edge cases (`parse_request` is also a fuzz target: it must never panic).

use urbackup_sim::http::{parse_params, route, Route};
use urbackup_sim::{parse_request, ParseError};

#[test]
fn complete_requests() {
    let r = parse_request(b"GET /x?a=login HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(r.method, "GET");
    assert_eq!(r.target, "/x?a=login");
    assert!(r.body.is_empty());
    let raw = b"POST /x?a=status HTTP/1.1\r\nContent-Length: 7\r\n\r\nses=abcNEXT";
    let r = parse_request(raw).unwrap();
    assert_eq!(r.body, b"ses=abc");
    assert_eq!(&raw[r.consumed..], b"NEXT");
}

#[test]
fn every_prefix_is_incomplete() {
    let raw = b"POST /x?a=status HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nses=abcdefg";
    for i in 0..raw.len() {
        assert_eq!(
            parse_request(&raw[..i]),
            Err(ParseError::Incomplete),
            "prefix {i}"
        );
    }
    assert!(parse_request(raw).is_ok());
}

#[test]
fn lf_only_and_header_case() {
    let r = parse_request(b"POST /x?a=login HTTP/1.0\ncontent-length: 3\n\nabc").unwrap();
    assert_eq!(r.body, b"abc");
    assert_eq!(r.header("CONTENT-LENGTH"), Some("3"));
}

#[test]
fn bodies_only_for_post_and_never_chunked() {
    let r = parse_request(b"GET /x?a=login HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").unwrap();
    assert!(r.body.is_empty());
    let r = parse_request(
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .unwrap();
    assert!(r.body.is_empty());
    let r = parse_request(b"POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert!(r.body.is_empty());
}

#[test]
fn errors() {
    assert_eq!(
        parse_request(b"POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
        Err(ParseError::BadContentLength)
    );
    assert_eq!(
        parse_request(b"POST /x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"),
        Err(ParseError::TooLarge)
    );
    assert_eq!(
        parse_request(b"POST /x HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n"),
        Err(ParseError::TooLarge)
    );
    assert_eq!(
        parse_request(b"GARBAGE\r\n\r\n"),
        Err(ParseError::BadRequestLine)
    );
    assert_eq!(
        parse_request(b"G3T /x HTTP/1.1\r\n\r\n"),
        Err(ParseError::BadRequestLine)
    );
    assert_eq!(
        parse_request(b"GET /x FTP/1\r\n\r\n"),
        Err(ParseError::BadRequestLine)
    );
    let mut big = b"GET /x HTTP/1.1\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 70_000));
    assert_eq!(parse_request(&big), Err(ParseError::TooLarge));
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(parse_request(&big), Err(ParseError::TooLarge));
}

#[test]
fn non_utf8_and_random_input_never_panics() {
    let r = parse_request(b"POST /x?a=\xff\xfe HTTP/1.1\r\nX: \xc3\x28\r\n\r\n");
    assert!(r.is_ok());
    let mut state: u64 = 0x1234_5678;
    let alphabet = b"GETPOST /x?a=&$%\r\n: Content-Length0123456789chunked\xff";
    for round in 0..20_000 {
        let len = (round % 300) as usize;
        let mut buf = Vec::with_capacity(len);
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        let _ = parse_request(&buf);
        let _ = parse_params(&buf);
        let _ = route(&String::from_utf8_lossy(&buf));
    }
}

#[test]
fn routing_and_params() {
    assert!(matches!(route("/x?a=status"), Route::Action { ref name, .. } if name == "status"));
    assert!(
        matches!(route("/proxy/urbackup/x?a=logs&ses=1"), Route::Action { ref name, .. } if name == "logs")
    );
    // any key ending in `a` before `a=` matches (naive scan of the real server)
    assert!(
        matches!(route("/x?sa=files&a=backups"), Route::Action { ref name, .. } if name == "files")
    );
    // a non-empty context makes the action unknown
    assert!(
        matches!(route("/x?a=status&c=foo"), Route::Action { ref context, .. } if context == "foo")
    );
    // `/` inside the query splits the target: static file
    assert_eq!(route("/x?a=backups&path=/a/b"), Route::NotFound);
    assert_eq!(route("/"), Route::NotFound);
    assert!(matches!(route("/_sim/stats"), Route::Control { ref path, .. } if path == "stats"));
    let p = parse_params(b"ses=abc&ses=def$name=O%27Brien&k%2Fey=v&plus=a+b&pct=100%");
    assert_eq!(p["ses"], "abc");
    assert_eq!(p["name"], "O''Brien");
    assert_eq!(p["k%2Fey"], "v");
    assert_eq!(p["plus"], "a b");
    assert_eq!(p["pct"], "100%");
}
