#pragma once
// Stand-in for gloo/common/error.h (see third_party/gloo_shim/README.md): ProcessGroupGloo.hpp includes
// it but uses nothing from it.
