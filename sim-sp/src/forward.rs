//! Renaming an operation element (`SendOpdateringFravaerRequest` →
//! `ModtagOpdateringFravaerRequest`) in the raw XML, so the receiver gets the caller's bytes
//! otherwise untouched — a real system swapped in sees exactly what the vendor sent.

/// Replaces the local name `from` by `to` where it is an element name: after `<`, `</` or a
/// prefix's `:`, and before `>`, `/` or white space. Text content is never touched.
pub fn rename_element(raw: &str, from: &str, to: &str) -> String {
    if from == to {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len() + 16);
    let mut rest = raw;
    let mut consumed = 0usize;
    while let Some(i) = rest.find(from) {
        let abs = consumed + i;
        let before = raw[..abs].chars().next_back();
        let after = raw[abs + from.len()..].chars().next();
        let is_name = matches!(before, Some('<' | '/' | ':'))
            && matches!(after, Some('>' | '/' | ' ' | '\n' | '\r' | '\t'))
            && raw[..abs].rfind('<') > raw[..abs].rfind('>');
        out.push_str(&rest[..i]);
        out.push_str(if is_name { to } else { from });
        rest = &rest[i + from.len()..];
        consumed = abs + from.len();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::rename_element;

    #[test]
    fn renames_tags_not_text() {
        let raw =
            "<a:SendXRequest xmlns:a=\"u\"><t>SendXRequest</t></a:SendXRequest><SendXRequest/>";
        assert_eq!(
            rename_element(raw, "SendXRequest", "ModtagXRequest"),
            "<a:ModtagXRequest xmlns:a=\"u\"><t>SendXRequest</t></a:ModtagXRequest><ModtagXRequest/>"
        );
    }
}
