// The one precompiled header shared by every torch-using C++ target (see CMakeLists REUSE_FROM).
// Headers elsewhere include the narrowest torch headers they need; this only makes parsing them cheap.
#pragma once
#include <torch/torch.h>
