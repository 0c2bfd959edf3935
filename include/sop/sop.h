// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// SOP for C++: an embeddable storage library with ACID transactions.
// Including this header gives the whole public API.

#ifndef SOP_SOP_H_
#define SOP_SOP_H_

#include "sop/backend.h"              // IWYU pragma: export
#include "sop/codec.h"                // IWYU pragma: export
#include "sop/cursor.h"               // IWYU pragma: export
#include "sop/database.h"             // IWYU pragma: export
#include "sop/env.h"                  // IWYU pragma: export
#include "sop/fault_injection_env.h"  // IWYU pragma: export
#include "sop/options.h"              // IWYU pragma: export
#include "sop/store.h"                // IWYU pragma: export
#include "sop/transaction.h"          // IWYU pragma: export
#include "sop/typed_store.h"          // IWYU pragma: export

#endif  // SOP_SOP_H_
