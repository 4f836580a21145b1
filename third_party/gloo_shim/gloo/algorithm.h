#pragma once
// Stand-in for gloo/algorithm.h (see third_party/gloo_shim/README.md): ProcessGroupGloo.hpp includes it
// but uses nothing from it.
