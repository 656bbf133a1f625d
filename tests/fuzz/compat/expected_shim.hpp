// Force-included (-include) by the fuzz build only. Debian 12's clang-14 cannot use libstdc++ 12's
// <expected>: libstdc++ declares it only for compilers with P0848 (conditionally trivial special
// members, __cpp_concepts >= 202002L), which clang gained in version 16. The engine returns
// std::expected everywhere (citytwin::Result), so this header supplies the part of std::expected
// the engine uses, built on std::variant, when the standard library does not declare it. GCC
// builds never see this file, and with a newer clang <version> defines __cpp_lib_expected and
// the header is empty.
#pragma once

#include <version>

#if !defined(__cpp_lib_expected)

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace std {

template <class E>
class unexpected {
 public:
  template <class G = E>
  requires(!is_same_v<remove_cvref_t<G>, unexpected> &&
           is_constructible_v<E, G>) constexpr explicit unexpected(G&& e)
      : m_e(std::forward<G>(e)) {}

  constexpr const E& error() const& noexcept { return m_e; }
  constexpr E& error() & noexcept { return m_e; }
  constexpr E&& error() && noexcept { return std::move(m_e); }

 private:
  E m_e;
};

template <class E>
unexpected(E) -> unexpected<E>;

template <class E>
class bad_expected_access : public exception {
 public:
  explicit bad_expected_access(E e) : m_e(std::move(e)) {}
  const char* what() const noexcept override { return "bad access to std::expected without value"; }
  const E& error() const& noexcept { return m_e; }

 private:
  E m_e;
};

namespace citytwin_shim {
// The stored alternative: index 0 the value (monostate for void), index 1 the error.
template <class T>
using value_slot = conditional_t<is_void_v<T>, monostate, T>;
}  // namespace citytwin_shim

template <class T, class E>
class expected {
  using V = citytwin_shim::value_slot<T>;

 public:
  using value_type = T;
  using error_type = E;

  constexpr expected() requires(is_void_v<T> || is_default_constructible_v<V>)
      : m_v(in_place_index<0>) {}
  template <class U = V>
  requires(!is_void_v<T> && !is_same_v<remove_cvref_t<U>, expected> &&
           !is_same_v<remove_cvref_t<U>, in_place_t> &&
           is_constructible_v<V, U>) constexpr expected(U&& v)
      : m_v(in_place_index<0>, std::forward<U>(v)) {}
  template <class G>
  requires is_constructible_v<E, const G&>
  constexpr expected(const unexpected<G>& u) : m_v(in_place_index<1>, u.error()) {}
  template <class G>
  requires is_constructible_v<E, G>
  constexpr expected(unexpected<G>&& u) : m_v(in_place_index<1>, std::move(u).error()) {}

  constexpr bool has_value() const noexcept { return m_v.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  constexpr const V& value() const& {
    check();
    return std::get<0>(m_v);
  }
  constexpr V& value() & {
    check();
    return std::get<0>(m_v);
  }
  constexpr V&& value() && {
    check();
    return std::get<0>(std::move(m_v));
  }
  constexpr const V& operator*() const& noexcept { return *std::get_if<0>(&m_v); }
  constexpr V& operator*() & noexcept { return *std::get_if<0>(&m_v); }
  constexpr V&& operator*() && noexcept { return std::move(*std::get_if<0>(&m_v)); }
  constexpr const V* operator->() const noexcept { return std::get_if<0>(&m_v); }
  constexpr V* operator->() noexcept { return std::get_if<0>(&m_v); }

  constexpr const E& error() const& noexcept { return *std::get_if<1>(&m_v); }
  constexpr E& error() & noexcept { return *std::get_if<1>(&m_v); }
  constexpr E&& error() && noexcept { return std::move(*std::get_if<1>(&m_v)); }

  template <class U>
  constexpr V value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<V>(std::forward<U>(fallback));
  }
  template <class U>
  constexpr V value_or(U&& fallback) && {
    return has_value() ? std::move(**this) : static_cast<V>(std::forward<U>(fallback));
  }

 private:
  constexpr void check() const {
    if (!has_value()) throw bad_expected_access<E>(error());
  }

  variant<V, E> m_v;
};

}  // namespace std

#endif
