//! The exported JS surface.
