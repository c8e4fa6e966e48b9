//! The first value a list gives twice: lists of seeds, batches or widths where each value is one
//! set of runs or directions, so a repeat would be counted twice.

/// The first value of `values` given earlier too, with its position (from 1).
pub fn first_repeat<T: PartialEq>(values: &[T]) -> Option<(usize, &T)> {
    values
        .iter()
        .enumerate()
        .find(|(i, v)| values[..*i].contains(v))
        .map(|(i, v)| (i + 1, v))
}

#[cfg(test)]
mod tests {
    use super::first_repeat;

    #[test]
    fn the_first_repeat_and_its_position() {
        assert_eq!(first_repeat(&[3, 4, 5, 4, 3]), Some((4, &4)));
        assert_eq!(first_repeat(&[1, 2, 3]), None);
        assert_eq!(first_repeat::<u64>(&[]), None);
    }
}
