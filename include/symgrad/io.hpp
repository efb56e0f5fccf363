// io layer: tensors in files. Checkpoints are in the safetensors format: an 8-byte little-endian header length N,
// N bytes of JSON ({"name": {"dtype": "F32"|"F64", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"key": "value", ...}}), then the tensors' little-endian bytes.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "symgrad/tensor.hpp"

namespace symgrad::io {

// A file that cannot be read as a checkpoint (truncated, corrupt, not safetensors), or cannot be written.
class CheckpointError : public Error {
public:
    using Error::Error;
};

struct Checkpoint {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;
};

// Writes atomically: to a temporary file in the same directory, flushed to disk (fsync), then renamed over path,
// so an interrupted save leaves the old file or the new one, never a broken one.
void save_safetensors(const std::string& path, const Checkpoint& checkpoint);

// Writes content to path as save_safetensors writes: the old file stays intact until the new one is complete
// on disk, and a failed or interrupted write (SIGINT, SIGTERM, SIGHUP) leaves no temporary behind. Throws
// Error ("cannot write 'PATH': reason").
void write_file(const std::string& path, std::string_view content);

// Reads and checks everything: the header's length and JSON, each tensor's dtype, shape and byte range against
// the file. Errors name the file and what is wrong.
Checkpoint load_safetensors(const std::string& path);

}  // namespace symgrad::io
