//! Native tests of the engine (filled below).
