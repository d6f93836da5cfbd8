// SlotArray: a fixed-size array of trivially copyable slots in pages of its own (mmap), all zero bytes
// at first. Freed pages go straight back to the system, so the table's growth leaves no holes in the
// heap, and slots never written cost no memory.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace transport::reputation {

template <class T>
class SlotArray {
  static_assert(std::is_trivially_copyable_v<T>, "slots are moved as bytes");

 public:
  SlotArray() = default;
  explicit SlotArray(std::size_t size) : size_(size) {
    if (size == 0) return;
    void* pages = mmap(nullptr, size * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<T*>(pages);
  }
  ~SlotArray() {
    if (data_ != nullptr) munmap(data_, size_ * sizeof(T));
  }
  SlotArray(const SlotArray&) = delete;
  SlotArray& operator=(const SlotArray&) = delete;
  SlotArray(SlotArray&& other) noexcept { swap(other); }
  SlotArray& operator=(SlotArray&& other) noexcept {
    swap(other);
    return *this;
  }
  void swap(SlotArray& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace transport::reputation
