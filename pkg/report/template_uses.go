package report

import (
	"text/template/parse"
)

// alertsAsList reports whether any of trees uses the report's Alerts other
// than by ranging over it with at most one variable ({{ range .Alerts }},
// {{ range $a := .Alerts }}, {{ range $.Alerts }}): by len, index, a range
// with an index variable, with, if, a variable holding it, or handing it to
// a function. Such a template was written for a list, which a stream is
// not, so it gets the whole list (see templateListMax). It errs towards the
// list: anything it cannot place (the name "Alerts" as a string, say) counts.
func alertsAsList(trees []*parse.Tree) bool {
	for _, t := range trees {
		if t != nil && t.Root != nil && usesAlertsAsList(t.Root) {
			return true
		}
	}
	return false
}

func usesAlertsAsList(n parse.Node) bool {
	switch n := n.(type) {
	case nil:
		return false
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if usesAlertsAsList(c) {
				return true
			}
		}
		return false
	case *parse.RangeNode:
		if streamedRange(n.Pipe) {
			return usesAlertsAsList(n.List) || usesAlertsAsList(n.ElseList)
		}
		return usesAlertsAsList(n.Pipe) || usesAlertsAsList(n.List) || usesAlertsAsList(n.ElseList)
	case *parse.IfNode:
		return usesAlertsAsList(n.Pipe) || usesAlertsAsList(n.List) || usesAlertsAsList(n.ElseList)
	case *parse.WithNode:
		return usesAlertsAsList(n.Pipe) || usesAlertsAsList(n.List) || usesAlertsAsList(n.ElseList)
	case *parse.ActionNode:
		return usesAlertsAsList(n.Pipe)
	case *parse.TemplateNode:
		return usesAlertsAsList(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if usesAlertsAsList(c) {
				return true
			}
		}
		return false
	case *parse.CommandNode:
		for _, a := range n.Args {
			if usesAlertsAsList(a) {
				return true
			}
		}
		return false
	case *parse.ChainNode: // (x).Alerts
		return (len(n.Field) > 0 && n.Field[0] == "Alerts") || usesAlertsAsList(n.Node)
	case *parse.FieldNode: // .Alerts, .Alerts.x; not .Summary.Alerts, a count
		return len(n.Ident) > 0 && n.Ident[0] == "Alerts"
	case *parse.VariableNode: // $.Alerts, $r.Alerts
		return len(n.Ident) > 1 && n.Ident[1] == "Alerts"
	case *parse.StringNode:
		return n.Text == "Alerts"
	default: // text, comments, constants, break, continue, dot, nil
		return false
	}
}

// streamedRange reports whether a range's pipeline is the report's Alerts
// alone, with at most one variable: what a stream can do.
func streamedRange(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) > 1 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode: // .Alerts
		return len(a.Ident) == 1 && a.Ident[0] == "Alerts"
	case *parse.VariableNode: // $.Alerts
		return len(a.Ident) == 2 && a.Ident[0] == "$" && a.Ident[1] == "Alerts"
	}
	return false
}
