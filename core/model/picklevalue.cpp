#include "model/picklevalue.h"

namespace SegScale::Model {

PickleValue::~PickleValue()
{
    // The default destructor would release children recursively: a pickle of 300,000
    // nested lists (a few hundred kilobytes) then overflows the stack. Children whose
    // last reference we hold are emptied into a work list first, so each destructor
    // below runs on a value without children.
    if (items.empty() && entries.empty())
        return;
    std::vector<PickleValuePtr> pending;
    auto takeChildren = [&pending](PickleValue &v) {
        for (auto &item : v.items)
            pending.push_back(std::move(item));
        v.items.clear();
        for (auto &[key, value] : v.entries) {
            pending.push_back(std::move(key));
            pending.push_back(std::move(value));
        }
        v.entries.clear();
    };
    takeChildren(*this);
    while (!pending.empty()) {
        PickleValuePtr v = std::move(pending.back());
        pending.pop_back();
        // Values are owned by one thread (the unpickler's caller): use_count is exact.
        if (v && v.use_count() == 1)
            takeChildren(*v);
    }
}

} // namespace SegScale::Model
