//! `loki` through its factory.
