#pragma once
// ByteArrayReadAdapter: lets LibTorch's zip reader (PyTorchStreamReader, and so
// torch::jit::load) read an archive from bytes already in memory — the verified bytes of
// a weights file (WeightsFile) or a fuzzer's input — instead of opening the file again.
// Shares the QByteArray (implicitly shared, no copy); read-only, thread-safe.

#include <caffe2/serialize/read_adapter_interface.h>

#include <QByteArray>

namespace SegScale::Model {

class ByteArrayReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
public:
    explicit ByteArrayReadAdapter(QByteArray bytes) : m_bytes(std::move(bytes)) {}
    size_t size() const override;
    size_t read(uint64_t pos, void *buf, size_t n, const char *what = "") const override;

private:
    QByteArray m_bytes;
};

} // namespace SegScale::Model
