package tokens

// Classify is ClassifyAt for an owner name (a domain name in presentation
// form, fully qualified or not): the tests' shorthand. The query path
// describes each owner once per RRset and calls ClassifyAt.
func (m *Matcher) Classify(owner string, txt []string) Match {
	var o Owner
	o.Set(owner)
	return m.ClassifyAt(&o, txt)
}
