// Compiled by a ctest that expects this to fail: a type with no sop::Codec.
#include "sop/typed_store.h"

struct NoCodec {};

void Use(sop::Transaction& txn) {
  sop::Store<NoCodec, int> store(txn, "s");
  (void)store.Put(NoCodec{}, 1);
}
