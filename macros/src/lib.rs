//! `#[pollcheck::test]`: an `async fn` test run as a [`pollcheck::model`]. Use it
//! through pollcheck's `macros` feature, which re-exports it.
//!
//! [`pollcheck::model`]: https://docs.rs/pollcheck/latest/pollcheck/fn.model.html

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Turns `async fn name() { .. }` into a `#[test]` that runs the body as a pollcheck
/// model under every schedule of the default exploration. Arguments are the
/// `Checker` builder's setters, as `name = value`:
/// `#[pollcheck::test(depth = 5, cases = 100, seed = 7, replay = "p0 p1")]`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args, item) {
        Ok(tokens) => tokens,
        Err((span, message)) => compile_error(span, &message),
    }
}

type Error = (Span, String);

fn expand(args: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let setters = setters(args)?;
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let Some(TokenTree::Group(body)) = tokens.pop() else {
        return Err((Span::call_site(), "#[pollcheck::test] goes on an `async fn` with a body".into()));
    };
    // `async` must come right before `fn`: remove it, the function itself is sync.
    let fn_at = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "fn"))
        .ok_or_else(|| (body.span(), "#[pollcheck::test] goes on an `async fn`".to_string()))?;
    match fn_at.checked_sub(1).map(|i| &tokens[i]) {
        Some(TokenTree::Ident(i)) if i.to_string() == "async" => {
            tokens.remove(fn_at - 1);
        }
        _ => return Err((tokens[fn_at].span(), "#[pollcheck::test] needs an `async fn`".into())),
    }
    let fn_at = fn_at - 1;
    // Keep everything up to the parameter list; drop a return type (the body's value
    // is the model's output).
    let params_at = tokens
        .iter()
        .enumerate()
        .skip(fn_at)
        .find(|(_, t)| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis))
        .map(|(i, _)| i)
        .ok_or_else(|| (body.span(), "expected the test's `()`".to_string()))?;
    if let TokenTree::Group(g) = &tokens[params_at] {
        if !g.stream().is_empty() {
            return Err((g.span(), "a #[pollcheck::test] takes no arguments".into()));
        }
    }
    tokens.truncate(params_at + 1);

    // ::pollcheck::Checker::new(|| ::pollcheck::Scenario::model(async move BODY))
    let mut run: Vec<TokenTree> = path(&["pollcheck", "Checker", "new"]);
    let mut closure: Vec<TokenTree> = vec![punct('|', Spacing::Joint), punct('|', Spacing::Alone)];
    closure.extend(path(&["pollcheck", "Scenario", "model"]));
    closure.push(group(Delimiter::Parenthesis, vec![ident("async"), ident("move"), TokenTree::Group(body.clone())]));
    run.push(group(Delimiter::Parenthesis, closure));
    for (name, value) in setters {
        run.push(punct('.', Spacing::Alone));
        run.push(TokenTree::Ident(name));
        run.push(group(Delimiter::Parenthesis, value));
    }
    run.extend([punct('.', Spacing::Alone), ident("run"), group(Delimiter::Parenthesis, vec![])]);
    run.push(punct(';', Spacing::Alone));

    let mut out: Vec<TokenTree> = vec![punct('#', Spacing::Alone), group(Delimiter::Bracket, vec![ident("test")])];
    out.extend(tokens);
    out.push(group(Delimiter::Brace, run));
    Ok(out.into_iter().collect())
}

/// `name = value, ...` as (setter, argument tokens).
fn setters(args: TokenStream) -> Result<Vec<(Ident, Vec<TokenTree>)>, Error> {
    let mut out = Vec::new();
    let mut tokens = args.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let TokenTree::Ident(name) = token else {
            return Err((token.span(), "expected `name = value`, e.g. `depth = 5`".into()));
        };
        match tokens.next() {
            Some(TokenTree::Punct(p)) if p.as_char() == '=' => {}
            other => {
                let span = other.map_or(name.span(), |t| t.span());
                return Err((span, format!("expected `=` after `{name}`, as in `{name} = 5`")));
            }
        }
        let mut value = Vec::new();
        while let Some(t) = tokens.peek() {
            if matches!(t, TokenTree::Punct(p) if p.as_char() == ',') {
                tokens.next();
                break;
            }
            value.extend(tokens.next());
        }
        if value.is_empty() {
            return Err((name.span(), format!("`{name}` needs a value")));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn path(segments: &[&str]) -> Vec<TokenTree> {
    segments.iter().flat_map(|s| [punct(':', Spacing::Joint), punct(':', Spacing::Alone), ident(s)]).collect()
}

fn ident(name: &str) -> TokenTree {
    TokenTree::Ident(Ident::new(name, Span::call_site()))
}

fn punct(c: char, spacing: Spacing) -> TokenTree {
    TokenTree::Punct(Punct::new(c, spacing))
}

fn group(delimiter: Delimiter, tokens: Vec<TokenTree>) -> TokenTree {
    TokenTree::Group(Group::new(delimiter, tokens.into_iter().collect()))
}

fn compile_error(span: Span, message: &str) -> TokenStream {
    let mut lit = Literal::string(message);
    lit.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut name = Ident::new("compile_error", span);
    name.set_span(span);
    [TokenTree::Ident(name), TokenTree::Punct(bang), group(Delimiter::Parenthesis, vec![TokenTree::Literal(lit)])]
        .into_iter()
        .collect()
}
