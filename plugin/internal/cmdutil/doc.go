// Package cmdutil is what the commands of docker acrtrust share: Deps (the
// docker CLI, environment, engine, registry and trust opener), the global
// flags, --format and the output writers, prompts, and the remedies that a
// failed trust, registry, engine or key store step carries (Remedier,
// WithRemedy, Deps.Fail, Deps.Explained). It never imports explain or a
// command package.
package cmdutil
