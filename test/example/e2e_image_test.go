//go:build e2e

package example

import (
	"debug/elf"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

// imageEnv is the environment of buildah in TestE2EImage: storage a
// container can use anywhere (vfs), and RUN steps in a chroot.
var imageEnv = append(os.Environ(), "LC_ALL=C", "STORAGE_DRIVER=vfs", "BUILDAH_ISOLATION=chroot")

// TestE2EImage builds deploy/Dockerfile with `make image` and buildah, and
// checks the image as an operator would run it: its binary is static and
// carries the file capability cap_net_bind_service, it runs as the user
// 65532, and, started as that user, it serves the example zone on port 53
// (the capability at work). The stage that sets the capability is a local
// image made of this machine's sh, setcap and CA bundle, so the test needs
// no registry.
func TestE2EImage(t *testing.T) {
	root := harness.RepoRoot(t)
	base, img := "localhost/veil-build-stage:test", "localhost/coredns-veil:test"
	buildStage(t, base)
	defer buildah(t, "rmi", "-f", img, base)
	out := harness.RunBounded(t, harness.Command{Dir: root, Env: imageEnv, Budget: 10 * time.Minute},
		"make", "image", "ENGINE=buildah", "BUILD_IMAGE="+base, "IMAGE="+img)
	if out.Code != 0 || out.Killed {
		t.Fatalf("make image:\n%s", out.Tail(30))
	}
	if user := buildah(t, "inspect", "--format", "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}", img); user != "65532:65532 [/coredns]" {
		t.Errorf("image config: user and entrypoint %q, want 65532:65532 [/coredns]", user)
	}
	ctr := buildah(t, "from", img)
	defer buildah(t, "rm", ctr)
	mnt := buildah(t, "mount", ctr)
	defer buildah(t, "umount", ctr)
	bin := filepath.Join(mnt, "coredns")
	if caps := harness.Run(t, "getcap", bin).Text; !strings.Contains(caps, "cap_net_bind_service=ep") {
		t.Errorf("getcap %s: %q, want cap_net_bind_service=ep", bin, caps)
	}
	if interp := elfInterpreter(t, bin); interp != "" {
		t.Errorf("the binary is dynamically linked (interpreter %s), want a static one", interp)
	}
	serveAsNonRoot(t, bin)
}

// serveAsNonRoot starts bin as user 65532 on 127.0.88.9:53 with the
// example zone, and asks it for www.example.org over UDP and TCP.
func serveAsNonRoot(t *testing.T, bin string) {
	t.Helper()
	// A directory of its own, which the user 65532 can read (t.TempDir's
	// parent is the test's alone).
	dir, err := os.MkdirTemp("", "veil-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	zone, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "example", "db.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	nonce := harness.Nonce(t)
	harness.WriteFile(t, filepath.Join(dir, "db.example.org"), string(zone)+"run-id-e2e IN TXT \""+nonce+"\"\n")
	harness.WriteFile(t, filepath.Join(dir, "Corefile"), fmt.Sprintf(
		"example.org:53 {\n    bind 127.0.88.9\n    veil {\n        trusted 127.0.0.1\n    }\n    file %s\n}\n", filepath.Join(dir, "db.example.org")))
	harness.StartProcess(t, harness.Process{
		Name: "coredns (image, user 65532)", Dir: dir, LogPath: filepath.Join(dir, "coredns.log"),
		Argv:    []string{"setpriv", "--reuid=65532", "--regid=65532", "--clear-groups", bin, "-conf", filepath.Join(dir, "Corefile")},
		Timeout: harness.ReadyTimeout,
		Ready: func() error {
			return harness.ProbeNonce(net.JoinHostPort("127.0.88.9", harness.DNSPort), "run-id-e2e.example.org.", nonce)
		},
		Hint: "the image's binary must bind port 53 as user 65532 with its file capability",
	})
}

// buildStage makes the local image of the stage that sets the capability:
// sh, setcap, their libraries and the CA bundle of this machine.
func buildStage(t *testing.T, name string) {
	t.Helper()
	files := []string{"/etc/ssl/certs/ca-certificates.crt"}
	for _, prog := range []string{"/bin/sh", "/usr/sbin/setcap"} {
		files = append(files, prog)
		for line := range strings.Lines(harness.Run(t, "ldd", prog).Text) {
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, "/") {
					files = append(files, f)
				}
			}
		}
	}
	ctr := buildah(t, "from", "scratch")
	defer buildah(t, "rm", ctr)
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			t.Fatal(err)
		}
		buildah(t, "copy", ctr, real, f)
	}
	buildah(t, "commit", ctr, name)
}

// buildah runs buildah with args and returns its output, trimmed.
func buildah(t *testing.T, args ...string) string {
	t.Helper()
	out := harness.RunBounded(t, harness.Command{Env: imageEnv, Budget: 5 * time.Minute}, "buildah", args...)
	if out.Code != 0 || out.Killed {
		t.Fatalf("buildah %s:\n%s", strings.Join(args, " "), out.Tail(20))
	}
	return strings.TrimSpace(out.Text)
}

// elfInterpreter returns the program interpreter of the ELF file at path,
// "" for a static binary.
func elfInterpreter(t *testing.T, path string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}
