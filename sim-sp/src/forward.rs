//! Renaming an operation element (`SendOpdateringFravaerRequest` →
//! `ModtagOpdateringFravaerRequest`) in the raw XML, so the receiver gets the caller's bytes
//! otherwise untouched — a real system swapped in sees exactly what the vendor sent.

/// Replaces the local name `from` by `to` where it is an element name: after `<`, `</` or a
/// prefix's `:`, and before `>`, `/` or white space, inside a tag. Text content is never
/// touched.
///
/// Linear in the size of `raw` however often `from` occurs (a valid message may repeat the
/// operation's name in a text field thousands of times): whether an occurrence is inside a
/// tag is known from the last `<` and `>` before it, tracked while scanning forward, never by
/// searching backwards from each occurrence.
pub fn rename_element(raw: &str, from: &str, to: &str) -> String {
    rename_counting(raw, from, to).0
}

/// [`rename_element`], and how many bytes it examined for tag context (for the test that
/// holds it linear).
fn rename_counting(raw: &str, from: &str, to: &str) -> (String, usize) {
    if from == to || from.is_empty() {
        return (raw.to_string(), 0);
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() + 16);
    // Everything before `scanned` has been looked at for `<` and `>`.
    let (mut scanned, mut last_lt, mut last_gt) = (0usize, None::<usize>, None::<usize>);
    let mut examined = 0usize;
    let mut copied = 0usize;
    let mut search = 0usize;
    while let Some(i) = raw[search..].find(from) {
        let abs = search + i;
        for (k, b) in bytes[scanned..abs].iter().enumerate() {
            match b {
                b'<' => last_lt = Some(scanned + k),
                b'>' => last_gt = Some(scanned + k),
                _ => {}
            }
        }
        examined += abs - scanned;
        scanned = abs;
        let before = raw[..abs].chars().next_back();
        let after = raw[abs + from.len()..].chars().next();
        let in_tag = last_lt > last_gt;
        let is_name = in_tag
            && matches!(before, Some('<' | '/' | ':'))
            && matches!(after, Some('>' | '/' | ' ' | '\n' | '\r' | '\t'));
        if is_name {
            out.push_str(&raw[copied..abs]);
            out.push_str(to);
            copied = abs + from.len();
        }
        search = abs + from.len();
    }
    out.push_str(&raw[copied..]);
    (out, examined)
}

#[cfg(test)]
mod tests {
    use super::{rename_counting, rename_element};

    #[test]
    fn renames_tags_not_text() {
        let raw =
            "<a:SendXRequest xmlns:a=\"u\"><t>SendXRequest</t></a:SendXRequest><SendXRequest/>";
        assert_eq!(
            rename_element(raw, "SendXRequest", "ModtagXRequest"),
            "<a:ModtagXRequest xmlns:a=\"u\"><t>SendXRequest</t></a:ModtagXRequest><ModtagXRequest/>"
        );
        assert_eq!(rename_element("<x>a</x>", "", "b"), "<x>a</x>");
        assert_eq!(
            rename_element("<x>/SendXRequest></x>", "SendXRequest", "M"),
            "<x>/SendXRequest></x>"
        );
    }

    /// Issue 15: a valid 1 MB message with the operation's name repeated in a text field cost
    /// seconds of CPU when each occurrence searched backwards for its tag. The work is counted
    /// (bytes examined), not timed: it must not exceed the message's size.
    #[test]
    fn the_cost_is_proportional_to_size_however_often_the_name_occurs() {
        let name = "SendOpdateringFravaerRequest";
        for repeats in [1_000usize, 10_000, 40_000] {
            let text = format!("{name} ").repeat(repeats);
            let raw = format!(
                "<sf:{name} xmlns:sf=\"u\"><sft:Begrundelse>{text}</sft:Begrundelse></sf:{name}>"
            );
            let (out, examined) = rename_counting(&raw, name, "ModtagOpdateringFravaerRequest");
            assert!(examined <= raw.len(), "{examined} > {}", raw.len());
            assert!(out.starts_with("<sf:ModtagOpdateringFravaerRequest "));
            assert!(out.ends_with("</sf:ModtagOpdateringFravaerRequest>"));
            assert_eq!(out.matches(name).count(), repeats, "the text is untouched");
        }
    }
}
