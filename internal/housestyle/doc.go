// Package housestyle holds tests that keep the house rules of the code
// base (see the project's style guide); it has no code of its own.
package housestyle
