//! Typed indices into an [`Inventory`](crate::Inventory)'s collections, as pubgrub's arena
//! hands out ids: a [`HostId`], [`VmId`], [`GroupId`] or [`UnitId`] is the position of a
//! host, VM slot, group or admission unit, and an [`IdVec`] is a vector indexed by one kind of
//! id only, so a VM index cannot look a host up. Ids order like their positions.

use std::fmt;
use std::iter::FromIterator;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// An index of one kind of item.
pub trait Id: Copy + Ord + fmt::Debug {
    /// The id of position `index`.
    fn new(index: usize) -> Self;
    /// The position.
    fn index(self) -> usize;
}

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub struct $name(usize);

        impl $name {
            /// The id of position `index`.
            pub const fn new(index: usize) -> Self {
                Self(index)
            }

            /// The position.
            pub const fn index(self) -> usize {
                self.0
            }
        }

        impl Id for $name {
            fn new(index: usize) -> Self {
                Self(index)
            }

            fn index(self) -> usize {
                self.0
            }
        }
    };
}

id!(
    /// A host: its position in [`Inventory::hosts`](crate::Inventory::hosts).
    HostId
);
id!(
    /// A VM slot: its position in [`Inventory::vms`](crate::Inventory::vms).
    VmId
);
id!(
    /// A group of VM slots: its position in [`Inventory::groups`](crate::Inventory::groups).
    GroupId
);
id!(
    /// An admission unit: its position in
    /// [`Inventory::admission_units`](crate::Inventory::admission_units).
    UnitId
);

/// A vector indexed by one kind of id.
pub struct IdVec<I, T> {
    items: Vec<T>,
    id: PhantomData<fn(I) -> I>,
}

impl<I: Id, T> IdVec<I, T> {
    /// An empty vector.
    pub const fn new() -> Self {
        Self {
            items: Vec::new(),
            id: PhantomData,
        }
    }

    /// The vector of `items`, the first with id 0.
    pub fn from_vec(items: Vec<T>) -> Self {
        Self {
            items,
            id: PhantomData,
        }
    }

    /// `len` copies of `value`.
    pub fn from_elem(value: T, len: usize) -> Self
    where
        T: Clone,
    {
        Self::from_vec(vec![value; len])
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends an item and returns its id.
    pub fn push(&mut self, item: T) -> I {
        self.items.push(item);
        I::new(self.items.len() - 1)
    }

    /// The item of `id`, if there is one.
    pub fn get(&self, id: I) -> Option<&T> {
        self.items.get(id.index())
    }

    /// The items in id order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The items in id order, mutably.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.items.iter_mut()
    }

    /// The ids with their items, in id order.
    pub fn iter_enumerated(
        &self,
    ) -> impl DoubleEndedIterator<Item = (I, &T)> + ExactSizeIterator + Clone {
        self.items
            .iter()
            .enumerate()
            .map(|(index, item)| (I::new(index), item))
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl DoubleEndedIterator<Item = I> + ExactSizeIterator + Clone {
        (0..self.items.len()).map(I::new)
    }

    /// The id of the first item that satisfies `predicate`.
    pub fn position(&self, predicate: impl FnMut(&T) -> bool) -> Option<I> {
        self.items.iter().position(predicate).map(I::new)
    }

    /// The items as a slice, by position: for numeric kernels that index by `usize`.
    pub fn raw(&self) -> &[T] {
        &self.items
    }
}

impl<I: Id, T> Default for IdVec<I, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I, T: Clone> Clone for IdVec<I, T> {
    fn clone(&self) -> Self {
        Self {
            items: self.items.clone(),
            id: PhantomData,
        }
    }
}

impl<I, T: PartialEq> PartialEq for IdVec<I, T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl<I, T: Eq> Eq for IdVec<I, T> {}

impl<I, T: fmt::Debug> fmt::Debug for IdVec<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.items.fmt(f)
    }
}

impl<I: Id, T> Index<I> for IdVec<I, T> {
    type Output = T;

    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: Id, T> IndexMut<I> for IdVec<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<I: Id, T> From<Vec<T>> for IdVec<I, T> {
    fn from(items: Vec<T>) -> Self {
        Self::from_vec(items)
    }
}

impl<I: Id, T> FromIterator<T> for IdVec<I, T> {
    fn from_iter<It: IntoIterator<Item = T>>(items: It) -> Self {
        Self::from_vec(items.into_iter().collect())
    }
}

impl<'a, I: Id, T> IntoIterator for &'a IdVec<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'a, I: Id, T> IntoIterator for &'a mut IdVec<I, T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter_mut()
    }
}

impl<I: Id, T> IntoIterator for IdVec<I, T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_index_their_own_vector_in_order() {
        let mut hosts: IdVec<HostId, &str> = IdVec::new();
        let a = hosts.push("esx-01");
        let b = hosts.push("esx-02");
        assert!(a < b);
        assert_eq!(hosts[b], "esx-02");
        assert_eq!(hosts.ids().collect::<Vec<_>>(), [a, b]);
        assert_eq!(
            hosts.iter_enumerated().collect::<Vec<_>>(),
            [(a, &"esx-01"), (b, &"esx-02")]
        );
        assert_eq!(hosts.position(|h| *h == "esx-02"), Some(HostId::new(1)));
        assert_eq!(hosts.get(HostId::new(2)), None);
        hosts[a] = "esx-00";
        assert_eq!(hosts.raw(), ["esx-00", "esx-02"]);
    }
}
