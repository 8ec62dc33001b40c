"""Spec templates that `forge demo` writes into DIR/specs/ beside the shipped examples it copies."""
